//! Shapes are types: mismatches are compile errors (trybuild, `tests/ui/*.rs` with the
//! expected compiler output in `.stderr`).

#[test]
fn shape_errors_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
