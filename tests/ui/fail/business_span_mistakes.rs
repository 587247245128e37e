use sightline::business_span;

pub struct Login {
    pub user: String,
    pub password: String,
}

#[business_span(process_order)]
fn bad_name() {}

#[business_span("")]
fn empty_name() {}

#[business_span("login", attrs(user = req.user, password = req.password))]
fn login(req: &Login) {}

#[business_span("x", fields(a = 1), name = "y", sample = 2)]
fn unknown_options() {}

#[business_span("order")]
struct Order;

fn main() {
    bad_name();
    empty_name();
    login(&Login { user: String::new(), password: String::new() });
    unknown_options();
    let _ = Order;
}
