//! The web pages as both servers of them see them: local-dev (from
//! `local-dev/static` on disk) and the deployed `pages` Lambda (the same folder,
//! embedded at build time). Which path shows which file, and the headers every page
//! and static file is sent with, are stated here once.

#[cfg(feature = "embedded")]
pub mod embedded;

use http::HeaderName;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};

/// A page: the path it is served at and its file in the static folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub path: &'static str,
    pub file: &'static str,
}

/// The pages, at the paths the contract names (`/` is signup).
pub const PAGES: [Page; 6] = [
    Page {
        path: "/",
        file: "signup.html",
    },
    Page {
        path: "/login",
        file: "login.html",
    },
    Page {
        path: "/dashboard",
        file: "dashboard.html",
    },
    // Where an invitation's mailed link leads (`/invite?token=...`).
    Page {
        path: "/invite",
        file: "invite.html",
    },
    Page {
        path: "/verify",
        file: "verify.html",
    },
    Page {
        path: "/reset",
        file: "reset.html",
    },
];

/// Every file of the static folder is also served under this path
/// (`/static/app.js`), which is how the pages load their scripts and styles.
pub const STATIC_PREFIX: &str = "/static";

/// The API's OpenAPI document (`api::openapi`), served beside the pages: live by
/// local-dev, and by the `pages` function from its committed copy in the static folder.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// The committed copy's file in the static folder (a test keeps it current).
pub const OPENAPI_FILE: &str = "openapi.json";

/// The page served at `path`, if any.
pub fn page(path: &str) -> Option<Page> {
    PAGES.into_iter().find(|page| page.path == path)
}

/// Headers for every page and static file. The pages load nothing from elsewhere and
/// run no inline script, so the policy allows only this origin; the API they call is
/// on the same origin too, which is what lets the token in localStorage work.
pub const SECURITY_HEADERS: [(HeaderName, &str); 6] = [
    (
        CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    (X_FRAME_OPTIONS, "DENY"),
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (REFERRER_POLICY, "no-referrer"),
    // Browsers ignore it over plain http (local-dev); deployed, the origin is https only.
    (STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
    // Revalidate every time, so a deploy or an edit shows at once; the files are small.
    (CACHE_CONTROL, "no-cache"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn every_header_value_is_valid() {
        for (name, value) in SECURITY_HEADERS {
            assert!(HeaderValue::from_str(value).is_ok(), "{name}");
        }
    }

    #[test]
    fn pages_are_found_by_path_only() {
        assert_eq!(page("/login").map(|p| p.file), Some("login.html"));
        assert_eq!(page("/login/"), None);
        assert_eq!(page("/static/login.html"), None);
    }
}
