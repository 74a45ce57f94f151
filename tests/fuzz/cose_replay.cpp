// The COSE fuzz target, renamed so the replay test can link it next to the other target.
#define LLVMFuzzerTestOneInput cose_fuzz_entry
#include "cose_fuzz.cpp"  // NOLINT(bugprone-suspicious-include)
