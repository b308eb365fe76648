#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| flowhost_tests::fuzzing::flow_yaml(data));
