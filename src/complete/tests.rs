use super::engine::{self, directive, Snapshot};
use super::*;
use crate::target::Kind;

fn words(s: &[&str]) -> Vec<String> {
    s.iter().map(|w| w.to_string()).collect()
}

fn run(s: &[&str], snap: &Snapshot) -> engine::Completions {
    let mut root = Cli::command();
    root.build();
    let p = engine::parse(&root, &words(s));
    engine::complete(&p, snap)
}

#[test]
fn smoke() {
    let c = run(&[""], &Snapshot::default());
    println!("{}", c.render());
}
