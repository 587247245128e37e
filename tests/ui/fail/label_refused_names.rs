use sightline::observe;

#[observe(metric = "logins", labels(user_id = true, client_ip = false, email = true, path = "/x", session_token = true))]
fn login() {}

fn main() {
    login();
}
