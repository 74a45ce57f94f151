// The link fuzz target, renamed so the replay test can link it next to the other target.
#define LLVMFuzzerTestOneInput link_fuzz_entry
#include "link_frame_fuzz.cpp"  // NOLINT(bugprone-suspicious-include)
