#![deny(warnings, unused, rust_2018_idioms, nonstandard_style)]
//! Methods: `&self`, `&mut self`, `self`, `self: Arc<Self>`, associated functions, generic impls, trait
//! impls and trait default methods.

use sightline::observe;
use std::sync::Arc;

pub struct Counter<T> {
    value: u64,
    tag: T,
}

impl<T: Clone> Counter<T> {
    #[observe]
    pub fn new(tag: T) -> Self {
        Counter { value: 0, tag }
    }

    #[observe]
    pub fn get(&self) -> u64 {
        self.value
    }

    #[observe]
    pub fn bump(&mut self) -> &mut u64 {
        self.value += 1;
        &mut self.value
    }

    #[observe]
    pub fn shared(self: Arc<Self>) -> T {
        self.tag.clone()
    }

    #[observe]
    pub fn into_value(self) -> u64 {
        self.value
    }
}

pub trait Describe {
    fn id(&self) -> u32;

    #[observe(name = "Describe::describe")]
    fn describe(&self) -> String {
        format!("#{}", self.id())
    }
}

impl<T> Describe for Counter<T> {
    #[observe]
    fn id(&self) -> u32 {
        self.value as u32
    }
}

fn main() {
    let mut c = Counter::new("t");
    *c.bump() += 1;
    assert_eq!(c.get(), 2);
    assert_eq!(c.describe(), "#2");
    assert_eq!(Arc::new(Counter::new("a")).shared(), "a");
    assert_eq!(c.into_value(), 2);
}
