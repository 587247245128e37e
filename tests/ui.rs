//! Compile-time behaviour of the macros: every supported shape compiles (and runs) with user lints
//! denied; every class of mistake gets its own reviewed diagnostic.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
