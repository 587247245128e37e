use sightline::observe;

struct Login {
    user: String,
    password: String,
    api_key: String,
}

#[observe(fields(user = req.user, password = req.password, X_Api_Key = req.api_key))]
fn login(req: &Login) -> bool {
    !req.user.is_empty()
}

fn main() {
    let req = Login { user: "a".into(), password: "p".into(), api_key: "k".into() };
    let _ = login(&req);
}
