//! The web UI at `/ui/`: static files embedded in the binary (no Node toolchain; they are plain
//! HTML, CSS and JavaScript that talk to the ECS API and `/ws/events` of the same port).

use actix_web::http::header;
use actix_web::{web, HttpResponse};

#[derive(rust_embed::RustEmbed)]
#[folder = "ui/"]
struct Assets;

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// `GET /ui` sends the browser to `/ui/` (the assets' relative links need the slash).
pub(crate) async fn redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/ui/"))
        .finish()
}

/// `GET /ui/{file}`; the empty name is the page itself.
pub(crate) async fn asset(file: web::Path<String>) -> HttpResponse {
    let name = match file.as_str() {
        "" => "index.html",
        other => other,
    };
    match Assets::get(name) {
        Some(found) => HttpResponse::Ok()
            .content_type(content_type(name))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(found.data.into_owned()),
        None => HttpResponse::NotFound().body("not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, App};

    #[actix_web::test]
    async fn the_page_and_its_assets_are_served_from_the_binary() {
        let app = test::init_service(
            App::new()
                .route("/ui", web::get().to(redirect))
                .route("/ui/{file:.*}", web::get().to(asset)),
        )
        .await;
        let moved =
            test::call_service(&app, test::TestRequest::get().uri("/ui").to_request()).await;
        assert_eq!(moved.status(), 308);
        assert_eq!(moved.headers().get(header::LOCATION).unwrap(), "/ui/");
        for (path, kind, needle) in [
            ("/ui/", "text/html", "<script src=\"app.js\">"),
            ("/ui/app.js", "text/javascript", "/ws/events"),
            ("/ui/style.css", "text/css", "--accent"),
        ] {
            let res =
                test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
            assert_eq!(res.status(), 200, "{path}");
            assert!(res
                .headers()
                .get(header::CONTENT_TYPE)
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(kind));
            let body = test::read_body(res).await;
            assert!(String::from_utf8_lossy(&body).contains(needle), "{path}");
        }
        let missing = test::call_service(
            &app,
            test::TestRequest::get().uri("/ui/nope.js").to_request(),
        )
        .await;
        assert_eq!(missing.status(), 404);
    }
}
