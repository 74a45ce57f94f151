// The CMS fuzz target, renamed so the replay test can link it next to the other targets.
#define LLVMFuzzerTestOneInput cms_fuzz_entry
#include "cms_fuzz.cpp"  // NOLINT(bugprone-suspicious-include)
