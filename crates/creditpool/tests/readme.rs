//! README.md's Rust example is `examples/readme.rs` (which `cargo test`
//! compiles), word for word: a README hint that does not compile fails here.

#[test]
fn the_readme_rust_example_is_the_compiled_example() {
    let readme = include_str!("../../../README.md");
    let start = readme.find("```rust\n").expect("README.md has a ```rust block") + "```rust\n".len();
    let end = start + readme[start..].find("```\n").expect("the ```rust block ends");
    let block = &readme[start..end];
    let example = include_str!("../examples/readme.rs");
    // The example's leading comment and attribute lines are its own.
    let code: String = example.lines().skip_while(|l| l.starts_with("//") || l.starts_with("#![")).map(|l| format!("{l}\n")).collect();
    assert_eq!(block, code, "README.md's Rust example and crates/creditpool/examples/readme.rs differ");
}
