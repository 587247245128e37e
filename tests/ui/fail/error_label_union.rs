use sightline::ErrorLabel;

#[derive(ErrorLabel)]
union Bits {
    a: u32,
    b: f32,
}

#[derive(ErrorLabel)]
enum Bad {
    #[error_label("")]
    Empty,
    #[error_label(oops)]
    NotAString,
}

fn main() {}
