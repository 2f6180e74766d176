//! `infra/template.yaml` against the code it deploys. Each check states one thing that
//! must not drift apart: the table and `shared/store`'s schema, the routes and the
//! function whose router answers them (for every route of the HTTP contract, and
//! through the `cargo lambda watch` router too), the permissions and what each
//! function calls, the configuration and what `api::Config` reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use api::routes::Routes;
use api::{App, Limits, RequestSummary};
use aws_sdk_dynamodb::types::KeySchemaElement;
use axum::Router;
use axum::body::Body;
use claims::TokenKeys;
use infra::{Yaml, intrinsic_call, reference, resources, strings};
use store::dynamo::schema::{self, partition};
use store::embedded::EmbeddedStore;
use tower::ServiceExt;

fn template() -> Yaml {
    infra::template().unwrap_or_else(|error| panic!("{error}"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("infra/ is inside the workspace")
        .to_path_buf()
}

fn resource<'a>(template: &'a Yaml, id: &str) -> &'a Yaml {
    let found = &template["Resources"][id];
    assert!(!found.is_badvalue(), "the template has no resource {id}");
    found
}

fn text(value: &Yaml) -> String {
    match value {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

// ------------------------------------------------------------------ the table

/// The differences between the template's table and what `ensure_table` creates from
/// `schema.rs` (the tests and local-dev's `--store dynamodb` use that one).
fn table_drift(template: &Yaml) -> Vec<String> {
    let tables = resources(template, "AWS::DynamoDB::Table");
    let [(_, table)] = tables.as_slice() else {
        return vec![format!(
            "expected one DynamoDB table, found {}",
            tables.len()
        )];
    };
    let table = &table["Properties"];
    let mut drift = Vec::new();
    let mut compare =
        |what: &str, declared: Vec<(String, String)>, expected: Vec<(String, String)>| {
            if declared != expected {
                drift.push(format!(
                    "{what}: template has {declared:?}, schema.rs has {expected:?}"
                ));
            }
        };

    let pairs = |list: &Yaml, a: &str, b: &str| -> Vec<(String, String)> {
        list.as_vec()
            .into_iter()
            .flatten()
            .map(|item| (text(&item[a]), text(&item[b])))
            .collect()
    };
    let key_pairs = |key: &[KeySchemaElement]| -> Vec<(String, String)> {
        key.iter()
            .map(|e| {
                (
                    e.attribute_name().to_owned(),
                    e.key_type().as_str().to_owned(),
                )
            })
            .collect()
    };

    let mut declared = pairs(
        &table["AttributeDefinitions"],
        "AttributeName",
        "AttributeType",
    );
    let mut expected: Vec<(String, String)> = schema::attribute_definitions()
        .expect("schema builds")
        .iter()
        .map(|d| {
            (
                d.attribute_name().to_owned(),
                d.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    declared.sort();
    expected.sort();
    compare("AttributeDefinitions", declared, expected);

    compare(
        "KeySchema",
        pairs(&table["KeySchema"], "AttributeName", "KeyType"),
        key_pairs(&schema::key_schema(schema::TABLE_KEY).expect("schema builds")),
    );

    let declared_indexes: BTreeMap<String, &Yaml> = table["GlobalSecondaryIndexes"]
        .as_vec()
        .into_iter()
        .flatten()
        .map(|index| (text(&index["IndexName"]), index))
        .collect();
    let expected_indexes = schema::global_secondary_indexes().expect("schema builds");
    compare(
        "GlobalSecondaryIndexes (names)",
        declared_indexes
            .keys()
            .map(|n| (n.clone(), String::new()))
            .collect(),
        expected_indexes
            .iter()
            .map(|i| (i.index_name().to_owned(), String::new()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    );
    for index in &expected_indexes {
        let Some(declared) = declared_indexes.get(index.index_name()) else {
            continue;
        };
        compare(
            &format!("index {} KeySchema", index.index_name()),
            pairs(&declared["KeySchema"], "AttributeName", "KeyType"),
            key_pairs(index.key_schema()),
        );
        let projection = index.projection().expect("schema sets a projection");
        compare(
            &format!("index {} Projection", index.index_name()),
            vec![(
                text(&declared["Projection"]["ProjectionType"]),
                format!("{:?}", strings(&declared["Projection"]["NonKeyAttributes"])),
            )],
            vec![(
                projection
                    .projection_type()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                format!("{:?}", projection.non_key_attributes()),
            )],
        );
    }

    compare(
        "BillingMode",
        vec![(text(&table["BillingMode"]), String::new())],
        vec![(schema::BILLING_MODE.as_str().to_owned(), String::new())],
    );
    compare(
        "TimeToLiveSpecification",
        vec![(
            text(&table["TimeToLiveSpecification"]["AttributeName"]),
            text(&table["TimeToLiveSpecification"]["Enabled"]),
        )],
        vec![(schema::TTL_ATTRIBUTE.to_owned(), "true".to_owned())],
    );
    drift
}

#[test]
fn the_table_is_the_one_the_store_creates_for_tests_and_local_dev() {
    let drift = table_drift(&template());
    assert!(
        drift.is_empty(),
        "infra/template.yaml and shared/store/src/dynamo/schema.rs disagree; change both:\n{}",
        drift.join("\n")
    );
}

#[test]
fn a_table_that_drifts_from_the_schema_is_caught() {
    let original = std::fs::read_to_string(infra::template_path()).unwrap();
    for (from, to) in [
        (
            "AttributeName: GSI1SK\n              KeyType: RANGE",
            "AttributeName: GSI1SK\n              KeyType: HASH",
        ),
        ("IndexName: gsi1", "IndexName: gsi2"),
        ("ProjectionType: ALL", "ProjectionType: KEYS_ONLY"),
        ("AttributeName: expires_at", "AttributeName: ttl"),
        ("BillingMode: PAY_PER_REQUEST", "BillingMode: PROVISIONED"),
        (
            "- AttributeName: SK\n          AttributeType: S",
            "- AttributeName: SK\n          AttributeType: N",
        ),
    ] {
        assert!(
            original.contains(from),
            "the template no longer has {from:?}"
        );
        let drifted = infra::parse(&original.replacen(from, to, 1)).unwrap();
        assert!(
            !table_drift(&drifted).is_empty(),
            "changing {from:?} to {to:?} went unnoticed"
        );
    }
}

#[test]
fn the_table_is_kept_safe_in_production() {
    let template = template();
    let (_, table) = resources(&template, "AWS::DynamoDB::Table")[0];
    assert_eq!(table["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(table["UpdateReplacePolicy"].as_str(), Some("Retain"));
    let properties = &table["Properties"];
    assert_eq!(
        properties["DeletionProtectionEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        properties["SSESpecification"]["SSEEnabled"].as_bool(),
        Some(true)
    );
}

// ------------------------------------------------------------------ routes

/// The files of `../shared/contract/` whose issue has landed, so the code serves their
/// routes beside `API.md`'s. None yet: the sessions, organizations and remote-MCP
/// issues each add their file here (`"sessions.md"`, ...) when they land.
const LANDED_CONTRACTS: &[&str] = &["organizations.md", "sessions.md", "remote-mcp.md"];

/// An API function's binary and the routes its `main.rs` hands to `lambda::run`
/// (`each_function_serves_the_router_these_checks_ask` holds the two together).
type ApiFunction = (&'static str, fn() -> Routes);

const API_FUNCTIONS: [ApiFunction; 5] = [
    ("signup", api::routes::signup),
    ("login", api::routes::login),
    ("contexts", api::routes::contexts),
    ("orgs", api::routes::orgs),
    ("oauth", api::routes::oauth),
];

/// The function serving `/mcp` (rmcp's service, not a group of documented routes).
const MCP: &str = "mcp";

/// The function serving the pages, the static files and the `$default` route.
const PAGES: &str = "pages";

/// The route API Gateway sends whatever no other route matches to.
const DEFAULT_ROUTE: &str = "$default";

/// The proxy path of the static files, in API Gateway's syntax.
const STATIC_ROUTE: &str = "/static/{proxy+}";

/// Signs nothing anyone sees: the probes carry no token.
const PROBE_KEY: &str = "infra-route-probe-key-infra-route-probe-key";

/// `METHOD /path` of every backticked route in the contract's text, query stripped.
fn routes_in_contract(text: &str) -> BTreeSet<(String, String)> {
    const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| {
            let (method, rest) = span.split_once(' ')?;
            if !METHODS.contains(&method) || !rest.starts_with('/') {
                return None;
            }
            let path = rest.split(['?', ' ']).next()?;
            Some((method.to_owned(), path.to_owned()))
        })
        .collect()
}

#[test]
fn routes_are_found_in_contract_text() {
    let found = routes_in_contract(
        "| `GET /contexts/{name}/memories?query=&limit=` | 200 |\n`POST /auth/login` `{\"email\"}`\n\
         pages `/` and `/login`, header `Authorization: Bearer <t>`",
    );
    let expected: BTreeSet<(String, String)> = [
        ("GET", "/contexts/{name}/memories"),
        ("POST", "/auth/login"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(found, expected);
}

/// The routes of `../shared/API.md` and of the landed files of `../shared/contract/`;
/// `None` when `../shared` is not beside the repository (a fresh clone).
fn contract_routes() -> Option<BTreeSet<(String, String)>> {
    let shared = workspace_root().join("../shared");
    let contract = shared.join("API.md");
    let Ok(text) = std::fs::read_to_string(&contract) else {
        eprintln!(
            "{} is not here (fresh clone): the contract's routes are not checked, \
             the template's and the routers' still are",
            contract.display()
        );
        return None;
    };
    let mut routes = routes_in_contract(&text);
    for file in LANDED_CONTRACTS {
        let path = shared.join("contract").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "{} is in LANDED_CONTRACTS but cannot be read: {error}",
                path.display()
            )
        });
        routes.extend(routes_in_contract(&text));
    }
    Some(routes)
}

/// `path` as a client sends it: a `{name}` placeholder becomes a sample value, a
/// greedy one (`{proxy+}`, `{*file}`) a file the pages serve.
fn sample_path(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('{') {
            None => segment,
            Some(name) if name.starts_with('*') || name.ends_with("+}") => site::OPENAPI_FILE,
            Some(_) => "sample",
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn placeholders_get_sample_values() {
    assert_eq!(
        sample_path("/contexts/{name}/memories/{id}"),
        "/contexts/sample/memories/sample"
    );
    assert_eq!(sample_path("/auth/login"), "/auth/login");
    assert_eq!(sample_path("/"), "/");
    let file = format!("/static/{}", site::OPENAPI_FILE);
    assert_eq!(sample_path(STATIC_ROUTE), file);
    assert_eq!(sample_path("/static/{*file}"), file);
}

/// Every function's router as its Lambda serves it, the API's over one in-memory
/// store, asked in process which requests it takes as its own.
struct Routers {
    runtime: tokio::runtime::Runtime,
    functions: Vec<(&'static str, Router)>,
}

impl Routers {
    fn new(api_functions: &[ApiFunction]) -> Self {
        let store = EmbeddedStore::in_memory().expect("an in-memory store");
        let keys = TokenKeys::new(&PROBE_KEY.to_owned().into(), Default::default())
            .expect("the probe key is long enough");
        let app = Arc::new(App::new(Arc::new(store), keys, Limits::default()));
        let mut functions: Vec<(&'static str, Router)> = api_functions
            .iter()
            .map(|&(binary, routes)| (binary, api::router(Arc::clone(&app), routes())))
            .collect();
        functions.push((PAGES, site::embedded::router()));
        functions.push((MCP, api::mcp::guarded_router(Arc::clone(&app), Vec::new())));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        Self { runtime, functions }
    }

    /// The functions whose router answers `method` on `path` (placeholders filled in),
    /// sent as a client without a token would: an empty JSON body. Anything but the
    /// router's 404 for an unknown path is an answer; a 405 says the path is its.
    fn answering(&self, method: &str, path: &str) -> Vec<&'static str> {
        self.functions
            .iter()
            .filter(|(_, router)| self.answers(router, method, path))
            .map(|&(binary, _)| binary)
            .collect()
    }

    fn answers(&self, router: &Router, method: &str, path: &str) -> bool {
        let request = http::Request::builder()
            .method(method)
            .uri(sample_path(path))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .expect("a well-formed request");
        let response = self
            .runtime
            .block_on(router.clone().oneshot(request))
            .unwrap_or_else(|never| match never {});
        // A handler may answer 404 itself (a resource it will not show); the API
        // router's summary still names the route it matched.
        let matched = response
            .extensions()
            .get::<RequestSummary>()
            .is_some_and(|summary| summary.route.is_some());
        matched || response.status() != http::StatusCode::NOT_FOUND
    }
}

/// The paths each API function's router declares (its part of the OpenAPI document).
fn declared_paths(api_functions: &[ApiFunction]) -> Vec<(&'static str, String)> {
    api_functions
        .iter()
        .flat_map(|&(binary, routes)| {
            let (_, document) = routes().split_for_parts();
            document
                .paths
                .paths
                .into_keys()
                .map(move |path| (binary, path))
        })
        .collect()
}

/// Each contract route must be answered by exactly one function, and the template and
/// the watch router must send it there: each miss, one sentence.
fn contract_drift(
    template: &Yaml,
    watch: &BTreeMap<String, String>,
    routers: &Routers,
    contract: &BTreeSet<(String, String)>,
) -> Vec<String> {
    let routes = infra::routes(template);
    let mut drift = Vec::new();
    for (method, path) in contract {
        let answering = routers.answering(method, path);
        let [binary] = answering.as_slice() else {
            drift.push(format!(
                "{method} {path} of the contract is answered by {answering:?}: exactly one \
                 function's router must declare it"
            ));
            continue;
        };
        let routed = routes.iter().any(|route| {
            route.path == *path
                && (route.method == *method || route.method == "ANY")
                && route.binary == *binary
        });
        if !routed {
            drift.push(format!(
                "{method} {path} is answered by {binary}, but the template does not route it there"
            ));
        }
        if watch.get(path) != Some(&binary.to_string()) {
            drift.push(format!(
                "{method} {path} is answered by {binary}, but the watch router sends it to {:?}",
                watch.get(path)
            ));
        }
    }
    drift
}

/// The template against the routers both ways: every path it routes (but `$default`)
/// is answered by that function's router and no other's, every path an API router
/// declares is routed to it (with `ANY`, so a wrong method gets the handlers' JSON 405)
/// in the template and the watch router.
fn routing_drift(
    template: &Yaml,
    watch: &BTreeMap<String, String>,
    routers: &Routers,
    api_functions: &[ApiFunction],
) -> Vec<String> {
    let routes = infra::routes(template);
    let mut drift = Vec::new();
    for route in routes.iter().filter(|route| route.path != DEFAULT_ROUTE) {
        let method = if route.method == "ANY" {
            "GET"
        } else {
            route.method.as_str()
        };
        let answering = routers.answering(method, &route.path);
        if answering != [route.binary.as_str()] {
            drift.push(format!(
                "the template sends {} {} to {}, but it is answered by {answering:?}",
                route.method, route.path, route.binary
            ));
        }
        let api = api_functions
            .iter()
            .any(|&(binary, _)| binary == route.binary);
        if api && route.method != "ANY" {
            drift.push(format!(
                "the template routes only {} {} to {}: API routes take every method",
                route.method, route.path, route.binary
            ));
        }
    }
    for (binary, path) in declared_paths(api_functions) {
        let routed = routes
            .iter()
            .any(|route| route.path == path && route.method == "ANY" && route.binary == binary);
        if !routed {
            drift.push(format!(
                "{binary}'s router declares {path}, which the template does not route to it \
                 with Method ANY"
            ));
        }
        if watch.get(&path).map(String::as_str) != Some(binary) {
            drift.push(format!(
                "{binary}'s router declares {path}, which the watch router sends to {:?}",
                watch.get(&path)
            ));
        }
    }
    drift
}

#[test]
fn every_contract_route_is_answered_by_exactly_one_function_and_routed_to_it() {
    let Some(contract) = contract_routes() else {
        return;
    };
    assert!(
        !contract.is_empty(),
        "the contract's routes were not found in its text: {contract:?}"
    );
    let drift = contract_drift(
        &template(),
        &watch_router(),
        &Routers::new(&API_FUNCTIONS),
        &contract,
    );
    assert!(
        drift.is_empty(),
        "the contract, the routers, infra/template.yaml and the root Cargo.toml's watch \
         router disagree:\n{}",
        drift.join("\n")
    );
}

#[test]
fn the_template_routes_each_path_to_the_function_whose_router_answers_it() {
    let drift = routing_drift(
        &template(),
        &watch_router(),
        &Routers::new(&API_FUNCTIONS),
        &API_FUNCTIONS,
    );
    assert!(
        drift.is_empty(),
        "the routers, infra/template.yaml and the root Cargo.toml's watch router \
         disagree:\n{}",
        drift.join("\n")
    );
}

#[test]
fn a_template_route_missing_misdirected_or_unknown_to_the_code_is_caught() {
    let original = std::fs::read_to_string(infra::template_path()).unwrap();
    let logout = "        Logout:\n          Type: HttpApi\n          Properties:\n            \
                  ApiId: !Ref Api\n            Path: /auth/logout\n            Method: ANY\n";
    let renew = format!(
        "{}{logout}",
        logout
            .replace("Logout", "Renew")
            .replace("/auth/logout", "/auth/renew")
    );
    let routers = Routers::new(&API_FUNCTIONS);
    let watch = watch_router();
    let contract = contract_routes().unwrap_or_default();
    for (from, to) in [
        // A route the code added beyond the contract, left out of the template.
        (logout, String::new()),
        // A route the template has and no router declares.
        (logout, renew),
        (
            "Path: /contexts/{name}/memories/{id}",
            "Path: /contexts/{name}/memory/{id}".into(),
        ),
        (
            "Path: /auth/me\n            Method: ANY",
            "Path: /auth/me\n            Method: GET".into(),
        ),
        // The login routes sent to the contexts function.
        ("Binary: login", "Binary: contexts".into()),
        ("Path: /dashboard", "Path: /dashboards".into()),
        ("Path: /static/{proxy+}", "Path: /assets/{proxy+}".into()),
    ] {
        assert!(
            original.contains(from),
            "the template no longer has {from:?}"
        );
        let drifted = infra::parse(&original.replacen(from, &to, 1)).unwrap();
        let mut drift = routing_drift(&drifted, &watch, &routers, &API_FUNCTIONS);
        drift.extend(contract_drift(&drifted, &watch, &routers, &contract));
        assert!(
            !drift.is_empty(),
            "changing {from:?} to {to:?} went unnoticed"
        );
    }
}

#[test]
fn a_watch_router_that_misses_or_misdirects_a_route_is_caught() {
    let template = template();
    let routers = Routers::new(&API_FUNCTIONS);
    let mut missing = watch_router();
    assert!(missing.remove("/auth/logout").is_some());
    let mut misdirected = watch_router();
    misdirected.insert("/contexts/{name}".into(), "login".into());
    for watch in [missing, misdirected] {
        assert!(!routing_drift(&template, &watch, &routers, &API_FUNCTIONS).is_empty());
    }
}

#[test]
fn a_router_that_lacks_a_route_or_takes_another_functions_is_caught() {
    let template = template();
    let watch = watch_router();
    // The contract as the code declares it, so this holds without `../shared` too.
    let contract: BTreeSet<(String, String)> = declared_paths(&API_FUNCTIONS)
        .into_iter()
        .map(|(_, path)| ("GET".to_owned(), path))
        .collect();
    let without_contexts: [ApiFunction; 3] = [
        ("signup", api::routes::signup),
        ("login", api::routes::login),
        ("contexts", Routes::new),
    ];
    let login_with_signup: [ApiFunction; 3] = [
        ("signup", api::routes::signup),
        ("login", || {
            api::routes::login().merge(api::routes::signup())
        }),
        ("contexts", api::routes::contexts),
    ];
    for api_functions in [without_contexts, login_with_signup] {
        let routers = Routers::new(&api_functions);
        assert!(!routing_drift(&template, &watch, &routers, &api_functions).is_empty());
        assert!(!contract_drift(&template, &watch, &routers, &contract).is_empty());
    }
    // A route the contract names and no router declares.
    let unserved = routes_in_contract("`POST /auth/renew`");
    assert!(
        !contract_drift(&template, &watch, &Routers::new(&API_FUNCTIONS), &unserved).is_empty()
    );
}

#[test]
fn each_function_serves_the_router_these_checks_ask() {
    let main = |binary: &str| {
        let path = workspace_root().join(format!("functions/{binary}/src/main.rs"));
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    };
    for (binary, _) in API_FUNCTIONS {
        let main = main(binary);
        assert!(
            main.contains(&format!("lambda::run(api::routes::plain::{binary})"))
                || main.contains(&format!(
                    "lambda::run_equipped(api::routes::plain::{binary},"
                )),
            "functions/{binary} serves another router than api::routes::plain::{binary}"
        );
    }
    assert!(main(PAGES).contains("lambda::serve(site::embedded::router())"));
    assert!(
        main(MCP).contains("api::mcp::guarded_router("),
        "functions/mcp serves /mcp behind the OAuth guard, as these checks ask"
    );
    let checked: Vec<&str> = API_FUNCTIONS
        .iter()
        .map(|&(binary, _)| binary)
        .chain([PAGES, MCP])
        .collect();
    assert_eq!(checked, FUNCTIONS);
}

#[test]
fn the_pages_are_served_on_the_api_origin_by_the_pages_function() {
    let routes = infra::routes(&template());
    let mut expected: BTreeSet<&str> = site::PAGES.iter().map(|page| page.path).collect();
    expected.insert(STATIC_ROUTE);
    expected.insert(site::OPENAPI_PATH);
    expected.insert(DEFAULT_ROUTE);
    let served: BTreeSet<&str> = routes
        .iter()
        .filter(|r| r.binary == PAGES)
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(served, expected);
    assert_eq!(
        format!("{}/{{proxy+}}", site::STATIC_PREFIX),
        STATIC_ROUTE,
        "the static files' route follows site::STATIC_PREFIX"
    );
    for route in routes
        .iter()
        .filter(|r| r.binary == PAGES && r.path != DEFAULT_ROUTE)
    {
        assert_eq!(route.method, "GET", "{}", route.path);
    }
}

/// `[workspace.metadata.lambda.watch.router]` of the root Cargo.toml: path -> function.
fn watch_router() -> BTreeMap<String, String> {
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&manifest).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("Cargo.toml has [workspace.metadata.lambda.watch.router]");
    router
        .iter()
        .map(|(path, function)| {
            let function = function
                .as_str()
                .unwrap_or_else(|| panic!("router entry {path} names one function"));
            (path.clone(), function.to_owned())
        })
        .collect()
}

#[test]
fn cargo_lambda_watch_routes_like_the_template() {
    let from_template: BTreeMap<String, String> = infra::routes(&template())
        .into_iter()
        .filter(|route| route.path != DEFAULT_ROUTE)
        // matchit's catch-all is {*name}; API Gateway's greedy parameter is {name+}.
        .map(|route| (route.path.replace("{proxy+}", "{*proxy}"), route.binary))
        .collect();
    assert_eq!(
        watch_router(),
        from_template,
        "the root Cargo.toml's watch router and infra/template.yaml route differently"
    );
}

// ------------------------------------------------------------------ functions

const FUNCTIONS: [&str; 7] = [
    "signup", "login", "contexts", "orgs", "oauth", "pages", "mcp",
];

/// `(logical id, function)` of the function built from `binary`.
fn function<'a>(template: &'a Yaml, binary: &str) -> (&'a str, &'a Yaml) {
    let found: Vec<_> = resources(template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, f)| infra::binary(f) == Some(binary))
        .collect();
    assert_eq!(found.len(), 1, "one function runs the {binary} binary");
    found[0]
}

#[test]
fn every_function_is_an_arm64_rust_binary_of_this_workspace() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(strings(&globals["Architectures"]), ["arm64"]);
    assert_eq!(globals["Handler"].as_str(), Some("bootstrap"));
    let code = globals["CodeUri"].as_str().expect("CodeUri in Globals");
    assert_eq!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(code)
            .canonicalize()
            .unwrap(),
        workspace_root().canonicalize().unwrap(),
        "CodeUri is the workspace root, where cargo lambda builds"
    );
    let declared: BTreeSet<&str> = resources(&template, "AWS::Serverless::Function")
        .into_iter()
        .filter_map(|(_, f)| infra::binary(f))
        .collect();
    assert_eq!(declared, BTreeSet::from(FUNCTIONS));
    for binary in FUNCTIONS {
        let (id, function) = function(&template, binary);
        assert_eq!(
            function["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}"
        );
        assert!(
            workspace_root()
                .join("functions")
                .join(binary)
                .join("src/main.rs")
                .exists(),
            "{id} builds functions/{binary}"
        );
        let properties = &function["Properties"];
        for overridden in ["Runtime", "Architectures", "Handler", "CodeUri"] {
            assert!(
                properties[overridden].is_badvalue(),
                "{id} overrides {overridden}"
            );
        }
        let logging = &properties["LoggingConfig"];
        assert_eq!(logging["LogFormat"].as_str(), Some("JSON"), "{id}");
        assert!(
            matches!(&logging["LogGroup"], Yaml::Hash(h) if h.contains_key(&Yaml::String("Ref".into()))),
            "{id} logs to a log group of the template, which has a retention"
        );
        assert!(
            properties["MemorySize"].as_i64().is_some(),
            "{id} sizes its memory"
        );
    }
}

#[test]
fn every_log_group_expires() {
    let template = template();
    let groups = resources(&template, "AWS::Logs::LogGroup");
    assert_eq!(
        groups.len(),
        FUNCTIONS.len() + 1,
        "one per function and the access log"
    );
    for (id, group) in groups {
        assert_eq!(
            group["Properties"]["RetentionInDays"],
            reference("LogRetentionDays"),
            "{id}"
        );
    }
}

// ------------------------------------------------------------------ permissions

/// Where a statement grants table actions: the table's items, or its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Table,
    Index,
}

/// What a role may do: per target, per action, the partition prefixes it may do it on.
type Access = BTreeMap<Target, BTreeMap<String, BTreeSet<String>>>;

fn access<'a>(grants: impl IntoIterator<Item = (Target, &'a str, Vec<&'a str>)>) -> Access {
    let mut access = Access::new();
    for (target, action, prefixes) in grants {
        access
            .entry(target)
            .or_default()
            .entry(action.to_owned())
            .or_default()
            .extend(prefixes.into_iter().map(str::to_owned));
    }
    access
}

/// What each function's code does to which partitions (shared/store/src/dynamo/mod.rs,
/// and the Store methods each route group calls), in the store's own prefixes. DynamoDB
/// checks a transaction as the PutItem / UpdateItem / DeleteItem of each of its items.
fn expected_access(binary: &str) -> Access {
    use Target::{Index, Table};
    use partition::{
        ACTIVITY, AUTHORIZATION_CODE, CLIENT, EMAIL, GRANT, INVITATION, MEMORIES, ONE_TIME,
        ORGANIZATION, OWNER, RATE, REVOKED, SEQUENCE, SESSION, USER,
    };
    access(match binary {
        // create_user: the email check (GetItem), next_id (UpdateItem), the
        // transaction's puts (PutItem); reserve and refund of the signups per address
        // (UpdateItem); the session it starts (PutItem). Accepting an invitation: the
        // invitation, its organization and a profile (GetItem), the caller's session
        // check (BatchGetItem); the joining profile and the admin count (UpdateItem);
        // the invitation and its listing (DeleteItem).
        // The account routes: credentials and user (GetItem); put_one_time (PutItem);
        // use_one_time (DeleteItem); mark_email_verified, replace_password_hash and their
        // budgets (UpdateItem); the login budget's reset after the right current password
        // (DeleteItem); a reset or change ends sessions (Query, UpdateItem).
        "signup" => vec![
            (
                Table,
                "dynamodb:GetItem",
                vec![EMAIL, INVITATION, ORGANIZATION, USER],
            ),
            (Table, "dynamodb:BatchGetItem", vec![USER, SESSION]),
            (Table, "dynamodb:Query", vec![SESSION]),
            (
                Table,
                "dynamodb:PutItem",
                vec![EMAIL, USER, ORGANIZATION, SESSION, ONE_TIME],
            ),
            (
                Table,
                "dynamodb:UpdateItem",
                vec![RATE, SEQUENCE, USER, ORGANIZATION, EMAIL, SESSION],
            ),
            (
                Table,
                "dynamodb:DeleteItem",
                vec![INVITATION, ORGANIZATION, ONE_TIME, RATE],
            ),
        ],
        // credentials (email, then profile), user, is_token_revoked (GetItem);
        // reserve and refund (UpdateItem), reset (DeleteItem), revoke_token (PutItem);
        // caller (BatchGetItem), create_session (PutItem), rotate_session and
        // end_session (UpdateItem), end_sessions and list_sessions (Query).
        "login" => vec![
            (Table, "dynamodb:GetItem", vec![EMAIL, USER, REVOKED]),
            (Table, "dynamodb:BatchGetItem", vec![USER, SESSION]),
            (Table, "dynamodb:UpdateItem", vec![RATE, SESSION]),
            (Table, "dynamodb:DeleteItem", vec![RATE]),
            (Table, "dynamodb:PutItem", vec![REVOKED, SESSION]),
            (Table, "dynamodb:Query", vec![SESSION]),
        ],
        // is_token_revoked, find_context (GetItem); create_context, put_memory's put and
        // delete_context's deletion record (PutItem); delete_context's swap of the
        // context item, the record's removal and delete_memory (DeleteItem); the
        // memory_count of both transactions (UpdateItem); list_contexts, list_memories
        // and the purge's listing (Query); the purge (BatchWriteItem); shared contexts
        // and the owners' names (Query on the index, GetItem); caller, the session check
        // (BatchGetItem); context_activity (Query).
        "contexts" => vec![
            (Table, "dynamodb:GetItem", vec![USER, OWNER]),
            (Table, "dynamodb:BatchGetItem", vec![USER, SESSION]),
            (Table, "dynamodb:PutItem", vec![OWNER, MEMORIES]),
            (Table, "dynamodb:DeleteItem", vec![OWNER, MEMORIES]),
            (Table, "dynamodb:UpdateItem", vec![OWNER]),
            (Table, "dynamodb:Query", vec![OWNER, MEMORIES, ACTIVITY]),
            (Table, "dynamodb:BatchWriteItem", vec![MEMORIES]),
            (Index, "dynamodb:Query", vec![ORGANIZATION]),
        ],
        // is_token_revoked, the caller's and a member's profile, the organization and
        // an invitation's listing (GetItem); invitations (Query, PutItem, DeleteItem);
        // roles, removals and the admin count, the invitation budget (UpdateItem);
        // the actor still an admin (ConditionCheckItem); members (Query on the index).
        "orgs" => vec![
            (Table, "dynamodb:GetItem", vec![USER, ORGANIZATION]),
            (Table, "dynamodb:BatchGetItem", vec![USER, SESSION]),
            (Table, "dynamodb:Query", vec![ORGANIZATION]),
            (Table, "dynamodb:PutItem", vec![INVITATION, ORGANIZATION]),
            (Table, "dynamodb:DeleteItem", vec![INVITATION, ORGANIZATION]),
            (Table, "dynamodb:UpdateItem", vec![USER, ORGANIZATION, RATE]),
            (Table, "dynamodb:ConditionCheckItem", vec![USER]),
            (Index, "dynamodb:Query", vec![ORGANIZATION]),
        ],
        // client (GetItem); register_client, put_authorization_code, create_grant
        // (PutItem); use_authorization_code (DeleteItem); rotate_grant, revoke_grant and
        // the registration and token budgets (UpdateItem); list_grants and
        // grant_activity (Query); the
        // consent's REST caller and grant_caller (BatchGetItem); the contexts the
        // consent offers: list_contexts (Query, the index, the owners' names by GetItem).
        "oauth" => vec![
            (Table, "dynamodb:GetItem", vec![CLIENT, USER]),
            (Table, "dynamodb:BatchGetItem", vec![USER, SESSION, GRANT]),
            (
                Table,
                "dynamodb:PutItem",
                vec![CLIENT, AUTHORIZATION_CODE, GRANT],
            ),
            (Table, "dynamodb:DeleteItem", vec![AUTHORIZATION_CODE]),
            (Table, "dynamodb:UpdateItem", vec![GRANT, RATE]),
            (Table, "dynamodb:Query", vec![GRANT, OWNER, ACTIVITY]),
            (Index, "dynamodb:Query", vec![ORGANIZATION]),
        ],
        // grant_caller (BatchGetItem), touch_grant (UpdateItem); the tools as the
        // contexts function does them, without deleting contexts; record_activity's
        // two entries (PutItem, in a transaction).
        "mcp" => vec![
            (Table, "dynamodb:BatchGetItem", vec![USER, GRANT]),
            (Table, "dynamodb:GetItem", vec![USER, OWNER]),
            (Table, "dynamodb:PutItem", vec![OWNER, MEMORIES, ACTIVITY]),
            (Table, "dynamodb:DeleteItem", vec![OWNER, MEMORIES]),
            (Table, "dynamodb:UpdateItem", vec![OWNER, GRANT]),
            (Table, "dynamodb:Query", vec![OWNER, MEMORIES]),
            (Index, "dynamodb:Query", vec![ORGANIZATION]),
        ],
        _ => vec![],
    })
}

/// The table actions whose requests always name the partitions they reach. For any
/// other (Scan, PartiQL's ExecuteStatement, DescribeTable) `dynamodb:LeadingKeys` is
/// empty, and `ForAllValues` over an empty set is true: a partition condition would not
/// hold them back.
const KEYED_ACTIONS: [&str; 8] = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
];

/// The partition prefixes a statement is limited to, or why it is not limited to
/// partitions of `published` prefixes. The one accepted form is
/// `ForAllValues:StringLike: {dynamodb:LeadingKeys: ["<prefix>*", ...]}` and nothing else.
fn partitions_allowed(statement: &Yaml, published: &[&str]) -> Result<BTreeSet<String>, String> {
    let only = |value: &Yaml, key: &str| -> Result<Yaml, String> {
        match value.as_hash() {
            Some(hash) if hash.len() == 1 => hash
                .get(&Yaml::String(key.to_owned()))
                .cloned()
                .ok_or_else(|| format!("its condition is not {key}")),
            _ => Err(format!("its condition is not {key} alone")),
        }
    };
    let patterns = only(
        &only(&statement["Condition"], "ForAllValues:StringLike")?,
        "dynamodb:LeadingKeys",
    )?;
    let patterns = strings(&patterns);
    if patterns.is_empty() {
        return Err("its LeadingKeys list no pattern".to_owned());
    }
    patterns
        .into_iter()
        .map(|pattern| {
            pattern
                .strip_suffix('*')
                .filter(|prefix| published.contains(prefix))
                .map(str::to_owned)
                .ok_or_else(|| {
                    format!(
                        "LeadingKeys pattern {pattern:?} is not <prefix>* of a prefix in \
                         schema::partition ({published:?})"
                    )
                })
        })
        .collect()
}

/// What `binary`'s role grants on the table and its index, and what is wrong with how.
fn granted(template: &Yaml, binary: &str, published: &[&str]) -> (Access, Vec<String>) {
    let mut access = Access::new();
    let mut problems = Vec::new();
    for statement in statements(template, binary) {
        let sid = statement["Sid"].as_str().unwrap_or("(no Sid)");
        if !statement["NotAction"].is_badvalue() || !statement["NotResource"].is_badvalue() {
            problems.push(format!(
                "{binary} {sid}: NotAction / NotResource grant by exclusion"
            ));
        }
        let actions = strings(&statement["Action"]);
        if !actions
            .iter()
            .any(|a| a.starts_with("dynamodb:") || a.contains('*'))
        {
            continue;
        }
        let resource = &statement["Resource"];
        let target = if *resource == table_arn() {
            Target::Table
        } else if *resource == index_arn(schema::GSI1.name) {
            Target::Index
        } else {
            problems.push(format!(
                "{binary} {sid}: table actions on {resource:?}, neither the table nor {}",
                schema::GSI1.name
            ));
            continue;
        };
        if statement["Effect"].as_str() != Some("Allow") {
            problems.push(format!(
                "{binary} {sid}: only Allow statements are expected"
            ));
        }
        for action in &actions {
            if !KEYED_ACTIONS.contains(action) {
                problems.push(format!(
                    "{binary} {sid}: {action} names no partition, so LeadingKeys cannot limit it"
                ));
            }
        }
        let prefixes = match partitions_allowed(statement, published) {
            Ok(prefixes) => prefixes,
            Err(why) => {
                problems.push(format!(
                    "{binary} {sid} reaches every partition of the {target:?}: {why}"
                ));
                // As wide as the statement really is.
                BTreeSet::from(["<every partition>".to_owned()])
            }
        };
        for action in actions {
            access
                .entry(target)
                .or_default()
                .entry(action.to_owned())
                .or_default()
                .extend(prefixes.iter().cloned());
        }
    }
    (access, problems)
}

/// Every way the roles differ from what the code does, given the store's prefixes.
fn access_drift(
    template: &Yaml,
    published: &[&str],
    expected: &dyn Fn(&str) -> Access,
) -> Vec<String> {
    let mut drift = Vec::new();
    for binary in FUNCTIONS {
        let (granted, problems) = granted(template, binary, published);
        drift.extend(problems);
        let expected = expected(binary);
        if granted != expected {
            drift.push(format!(
                "{binary}: the template grants {granted:?}, the code needs {expected:?}"
            ));
        }
    }
    drift
}

/// The statements of a function's role, after checking the role is its own.
fn statements<'a>(template: &'a Yaml, binary: &str) -> Vec<&'a Yaml> {
    let (id, function) = function(template, binary);
    let role_ref = &function["Properties"]["Role"]["Fn::GetAtt"];
    let role_id = role_ref
        .as_str()
        .and_then(|r| r.strip_suffix(".Arn"))
        .unwrap_or_else(|| panic!("{id} has Role: !GetAtt <its role>.Arn"));
    let role = resource(template, role_id);
    assert_eq!(role["Type"].as_str(), Some("AWS::IAM::Role"));
    assert!(
        function["Properties"]["Policies"].is_badvalue(),
        "{id}: permissions live in {role_id}"
    );
    assert!(
        role["Properties"]["ManagedPolicyArns"].is_badvalue(),
        "{role_id}: no managed policies"
    );
    let users = resources(template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, f)| f["Properties"]["Role"]["Fn::GetAtt"] == *role_ref)
        .count();
    assert_eq!(users, 1, "{role_id} belongs to {id} alone");
    role["Properties"]["Policies"]
        .as_vec()
        .into_iter()
        .flatten()
        .flat_map(|policy| {
            policy["PolicyDocument"]["Statement"]
                .as_vec()
                .into_iter()
                .flatten()
        })
        .collect()
}

fn table_arn() -> Yaml {
    intrinsic_call("Fn::GetAtt", Yaml::String("Table.Arn".into()))
}

fn index_arn(name: &str) -> Yaml {
    intrinsic_call(
        "Fn::Sub",
        Yaml::String(format!("${{Table.Arn}}/index/{name}")),
    )
}

#[test]
fn each_function_may_do_what_its_code_does_on_the_partitions_it_does_it_on() {
    let drift = access_drift(&template(), &partition::ALL, &expected_access);
    assert!(
        drift.is_empty(),
        "the roles of infra/template.yaml and what the code does disagree:\n{}",
        drift.join("\n")
    );
}

#[test]
fn a_role_wider_than_its_code_is_caught() {
    let original = std::fs::read_to_string(infra::template_path()).unwrap();
    for (from, to) in [
        // The review's attack: the contexts role reaching password hashes.
        (
            r#"dynamodb:LeadingKeys: ["USER#*", "OWNER#*"]"#,
            r#"dynamodb:LeadingKeys: ["USER#*", "OWNER#*", "EMAIL#*"]"#,
        ),
        (
            r#"dynamodb:LeadingKeys: ["OWNER#*", "CTX#*"]"#,
            r#"dynamodb:LeadingKeys: ["*"]"#,
        ),
        (
            r#"dynamodb:LeadingKeys: ["OWNER#*"]"#,
            r#"dynamodb:LeadingKeys: ["OWNER*"]"#,
        ),
        // Any value matching suffices with ForAnyValue: as good as no condition.
        (
            "ForAllValues:StringLike:\n                    dynamodb:LeadingKeys: [\"CTX#*\"]",
            "ForAnyValue:StringLike:\n                    dynamodb:LeadingKeys: [\"CTX#*\"]",
        ),
        // The condition gone.
        (
            "                Condition:\n                  ForAllValues:StringLike:\n                    dynamodb:LeadingKeys: [\"REVOKED#*\"]\n",
            "",
        ),
        // A second condition key that does not scope partitions.
        (
            "                  ForAllValues:StringLike:\n                    dynamodb:LeadingKeys: [\"RATE#*\", \"SEQ#*\", \"USER#*\", \"ORG#*\", \"EMAIL#*\"]",
            "                  ForAllValues:StringLike:\n                    dynamodb:LeadingKeys: [\"RATE#*\", \"SEQ#*\", \"USER#*\", \"ORG#*\", \"EMAIL#*\"]\n                  StringEquals:\n                    aws:RequestedRegion: us-east-1",
        ),
        // Login allowed to write credentials.
        (
            r#"dynamodb:LeadingKeys: ["REVOKED#*"]"#,
            r#"dynamodb:LeadingKeys: ["REVOKED#*", "EMAIL#*"]"#,
        ),
        (
            r#"dynamodb:LeadingKeys: ["ORG#*"]"#,
            r#"dynamodb:LeadingKeys: ["ORG#*", "USER#*"]"#,
        ),
        // A prefix renamed in the template only.
        (r#""SEQ#*""#, r#""SEQUENCE#*""#),
        // An action whose requests name no partition, so the condition passes it.
        (
            "Action: dynamodb:BatchWriteItem",
            "Action: [dynamodb:BatchWriteItem, dynamodb:Scan]",
        ),
        ("Action: dynamodb:BatchWriteItem", "Action: \"*\""),
        (
            "Action: dynamodb:BatchWriteItem",
            "NotAction: dynamodb:BatchWriteItem",
        ),
        (
            "Action: dynamodb:BatchWriteItem\n                Resource: !GetAtt Table.Arn",
            "Action: dynamodb:BatchWriteItem\n                Resource: \"*\"",
        ),
        // A partition the code needs, taken away (signup would fail in production).
        (
            r#"["EMAIL#*", "USER#*", "ORG#*", "ONETIME#*"]"#,
            r#"["EMAIL#*", "USER#*", "ONETIME#*"]"#,
        ),
    ] {
        assert!(
            original.contains(from),
            "the template no longer has {from:?}"
        );
        let drifted = infra::parse(&original.replacen(from, to, 1)).unwrap();
        assert!(
            !access_drift(&drifted, &partition::ALL, &expected_access).is_empty(),
            "changing {from:?} to {to:?} went unnoticed"
        );
    }
}

#[test]
fn a_prefix_renamed_in_the_store_but_not_in_the_template_is_caught() {
    const RENAMED: &str = "SQ#";
    let published: Vec<&str> = partition::ALL
        .iter()
        .map(|&prefix| {
            if prefix == partition::SEQUENCE {
                RENAMED
            } else {
                prefix
            }
        })
        .collect();
    let renamed = |binary: &str| -> Access {
        let mut access = expected_access(binary);
        for prefixes in access.values_mut().flat_map(BTreeMap::values_mut) {
            if prefixes.remove(partition::SEQUENCE) {
                prefixes.insert(RENAMED.to_owned());
            }
        }
        access
    };
    assert!(!access_drift(&template(), &published, &renamed).is_empty());
}

/// The contexts function reads profiles (the caller's organization and role, with the
/// session check) but never the password hashes under `EMAIL#`, and writes neither.
#[test]
fn only_signup_writes_password_hashes_only_signup_and_orgs_write_profiles_and_no_other_reads_hashes()
 {
    const WRITES: [&str; 5] = [
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
    ];
    let template = template();
    for binary in FUNCTIONS {
        let (access, problems) = granted(&template, binary, &partition::ALL);
        assert!(problems.is_empty(), "{problems:?}");
        for (target, actions) in &access {
            for (action, prefixes) in actions {
                let writes = WRITES.contains(&action.as_str());
                if prefixes.contains(partition::EMAIL) {
                    assert!(
                        ["signup", "login"].contains(&binary),
                        "{binary} may {action} password hashes on the {target:?}"
                    );
                    assert!(
                        !writes || binary == "signup",
                        "{binary} may {action} password hashes"
                    );
                }
                // Profiles carry the membership: signup creates them (and joins them by
                // invitation), orgs changes roles; everyone else only reads them.
                if prefixes.contains(partition::USER)
                    && writes
                    && action != "dynamodb:ConditionCheckItem"
                {
                    assert!(
                        ["signup", "orgs"].contains(&binary),
                        "{binary} may {action} profiles"
                    );
                }
            }
        }
    }
}

#[test]
fn every_partition_of_the_store_belongs_to_some_function() {
    let used: BTreeSet<String> = FUNCTIONS
        .iter()
        .flat_map(|binary| expected_access(binary).into_values())
        .flat_map(BTreeMap::into_values)
        .flatten()
        .collect();
    let published: BTreeSet<String> = partition::ALL.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        used, published,
        "a prefix of schema::partition that no function uses, or one it does not publish: \
         decide which roles reach it"
    );
}

/// IAM's `StringLike`: `*` is any run of characters, `?` any one character.
fn string_like(pattern: &str, value: &str) -> bool {
    let (pattern, value): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), value.chars().collect());
    // matches[j]: whether the pattern so far matches value[..j].
    let mut matches = vec![false; value.len() + 1];
    matches[0] = true;
    for p in pattern {
        let mut next = vec![false; value.len() + 1];
        for j in 0..=value.len() {
            next[j] = match p {
                '*' => matches[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && matches[j - 1],
                c => j > 0 && matches[j - 1] && value[j - 1] == c,
            };
        }
        matches = next;
    }
    matches[value.len()]
}

/// Whether IAM lets `binary`'s role do `action` on the table's items in a request
/// reaching the partitions `keys` (its `dynamodb:LeadingKeys`): an Allow statement names
/// the action and the table, and each key matches one of its patterns. The template's
/// only condition form is understood; any other stops the test.
fn allows(template: &Yaml, binary: &str, action: &str, keys: &[&str]) -> bool {
    statements(template, binary).into_iter().any(|statement| {
        if statement["Effect"].as_str() != Some("Allow")
            || statement["Resource"] != table_arn()
            || !strings(&statement["Action"]).contains(&action)
        {
            return false;
        }
        let condition = &statement["Condition"];
        if condition.is_badvalue() {
            return true;
        }
        let patterns = strings(&condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]);
        assert!(
            !patterns.is_empty() && condition.as_hash().is_some_and(|c| c.len() == 1),
            "{binary}: a condition this evaluator does not know: {condition:?}"
        );
        // ForAllValues: every key matches; over no key at all, true.
        keys.iter()
            .all(|key| patterns.iter().any(|pattern| string_like(pattern, key)))
    })
}

#[test]
fn string_like_matches_as_iam_does() {
    assert!(string_like("EMAIL#*", "EMAIL#a@example.com"));
    assert!(string_like("EMAIL#*", "EMAIL#"));
    assert!(string_like("*", ""));
    assert!(string_like("R?TE#*", "RATE#x"));
    assert!(!string_like("EMAIL#*", "EMAIL"));
    assert!(!string_like("EMAIL#*", "XEMAIL#a"));
    assert!(!string_like("OWNER#*", "ORG#1"));
    assert!(!string_like("R?TE#*", "RTE#x"));
}

#[test]
fn the_contexts_role_can_neither_read_a_password_hash_nor_change_a_profile() {
    let template = template();
    let hash = format!("{}victim@example.com", partition::EMAIL);
    let profile = format!("{}1", partition::USER);
    let session = format!("{}1", partition::SESSION);
    let own = format!("{}7", partition::OWNER);
    let memories = format!("{}01J0000000000000000000000", partition::MEMORIES);
    // The caller's profile and session are read on every request in one BatchGetItem
    // (organization and role come from the store, not the token), and owners' names by
    // GetItem; nothing else may touch profiles.
    assert!(allows(
        &template,
        "contexts",
        "dynamodb:BatchGetItem",
        &[&profile, &session]
    ));
    assert!(allows(
        &template,
        "contexts",
        "dynamodb:GetItem",
        &[&profile]
    ));
    for action in KEYED_ACTIONS {
        for target in [&hash, &profile] {
            if target == &profile
                && (action == "dynamodb:GetItem" || action == "dynamodb:BatchGetItem")
            {
                continue;
            }
            assert!(
                !allows(&template, "contexts", action, &[target]),
                "contexts may {action} {target}"
            );
            // Smuggled into one request beside partitions the role may reach.
            assert!(
                !allows(&template, "contexts", action, &[&own, &memories, target]),
                "contexts may {action} {target} in a batch"
            );
        }
    }
    assert!(allows(&template, "contexts", "dynamodb:PutItem", &[&own]));
    assert!(allows(
        &template,
        "contexts",
        "dynamodb:BatchWriteItem",
        &[&memories, &memories]
    ));
    // The hash is signup's to write, login's to read, and nobody else's.
    assert!(allows(&template, "signup", "dynamodb:PutItem", &[&hash]));
    assert!(allows(&template, "login", "dynamodb:GetItem", &[&hash]));
    for action in [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ] {
        assert!(
            !allows(&template, "login", action, &[&hash]),
            "login may {action} {hash}"
        );
    }
    assert!(!allows(
        &template,
        "signup",
        "dynamodb:DeleteItem",
        &[&hash]
    ));
    assert!(!allows(&template, "pages", "dynamodb:GetItem", &[&hash]));
}

#[test]
fn a_request_naming_no_partition_passes_the_condition_so_no_such_action_is_granted() {
    let template = template();
    // Why KEYED_ACTIONS matters: over no key at all, ForAllValues holds.
    assert!(allows(&template, "contexts", "dynamodb:Query", &[]));
    for binary in FUNCTIONS {
        for action in [
            "dynamodb:Scan",
            "dynamodb:PartiQLSelect",
            "dynamodb:PartiQLUpdate",
        ] {
            assert!(
                !allows(&template, binary, action, &[]),
                "{binary} may {action}"
            );
        }
    }
}

#[test]
fn each_function_writes_only_its_own_logs() {
    let template = template();
    for binary in FUNCTIONS {
        let (id, function) = function(&template, binary);
        let group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} names its log group"));
        let logs: Vec<&Yaml> = statements(&template, binary)
            .into_iter()
            .filter(|s| strings(&s["Action"]).iter().any(|a| a.starts_with("logs:")))
            .collect();
        assert_eq!(logs.len(), 1, "{id}");
        assert_eq!(
            strings(&logs[0]["Action"]),
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            "{id}"
        );
        assert_eq!(
            logs[0]["Resource"],
            intrinsic_call("Fn::GetAtt", Yaml::String(format!("{group}.Arn"))),
            "{id}"
        );
    }
}

// ------------------------------------------------------------------ edge

/// Web ACL associations that point at an HTTP API, which AWS WAF cannot protect (only
/// REST API stages among API Gateway's): they would fail at deploy time.
fn web_acls_on_http_apis(template: &Yaml) -> Vec<String> {
    let http_apis: Vec<&str> = resources(template, "AWS::Serverless::HttpApi")
        .into_iter()
        .chain(resources(template, "AWS::ApiGatewayV2::Api"))
        .map(|(id, _)| id)
        .collect();
    resources(template, "AWS::WAFv2::WebACLAssociation")
        .into_iter()
        .filter(|(_, association)| {
            let target = format!("{:?}", association["Properties"]["ResourceArn"]);
            target.contains("/apis/")
                || http_apis.iter().any(|api| {
                    target.contains(&format!("\"{api}\""))
                        || target.contains(&format!("${{{api}}}"))
                        || target.contains(&format!("${{{api}."))
                })
        })
        .map(|(id, _)| id.to_owned())
        .collect()
}

#[test]
fn no_web_acl_is_associated_with_the_http_api_which_waf_cannot_protect() {
    let original = std::fs::read_to_string(infra::template_path()).unwrap();
    assert_eq!(
        web_acls_on_http_apis(&infra::parse(&original).unwrap()),
        Vec::<String>::new()
    );
    for arn in [
        "!Sub arn:aws:apigateway:${AWS::Region}::/apis/${Api}/stages/$default",
        "!Ref Api",
    ] {
        let attached = original.replacen(
            "\nOutputs:",
            &format!(
                "  EdgeAcl:\n    Type: AWS::WAFv2::WebACLAssociation\n    Properties:\n      \
                 ResourceArn: {arn}\n      WebACLArn: arn:aws:wafv2:us-east-1:1:regional/webacl/x/y\n\
                 \nOutputs:"
            ),
            1,
        );
        assert_eq!(
            web_acls_on_http_apis(&infra::parse(&attached).unwrap()),
            ["EdgeAcl"],
            "{arn}"
        );
    }
}

// ------------------------------------------------------------------ configuration

const SIGNING_KEY: &str = "SigningKey";

#[test]
fn the_signing_key_reaches_the_functions_only_as_an_arn() {
    let template = template();
    let key = resource(&template, SIGNING_KEY);
    assert_eq!(key["Type"].as_str(), Some("AWS::SecretsManager::Secret"));
    let properties = &key["Properties"];
    assert!(
        properties["SecretString"].is_badvalue(),
        "the value is generated, never written"
    );
    assert!(
        properties["GenerateSecretString"]["PasswordLength"]
            .as_i64()
            .unwrap_or(0)
            >= 32,
        "the key is at least 32 bytes"
    );
    for binary in FUNCTIONS {
        let (id, function) = function(&template, binary);
        let variables = &function["Properties"]["Environment"]["Variables"];
        let reads_key = statements(&template, binary)
            .into_iter()
            .filter(|s| {
                strings(&s["Action"])
                    .iter()
                    .any(|a| a.starts_with("secretsmanager:"))
            })
            .collect::<Vec<_>>();
        if binary == "pages" {
            assert!(variables.is_badvalue(), "{id} needs no configuration");
            assert!(reads_key.is_empty(), "{id} has no business with the key");
            continue;
        }
        assert_eq!(
            variables["MEM0_JWT_SECRET_ARN"],
            reference(SIGNING_KEY),
            "{id}"
        );
        assert!(
            variables["MEM0_JWT_SECRET"].is_badvalue(),
            "{id}: never the key itself"
        );
        assert!(
            variables["DYNAMODB_ENDPOINT"].is_badvalue(),
            "{id}: AWS's own endpoint"
        );
        assert_eq!(reads_key.len(), 1, "{id}");
        assert_eq!(
            strings(&reads_key[0]["Action"]),
            ["secretsmanager:GetSecretValue"]
        );
        assert_eq!(
            reads_key[0]["Resource"],
            reference(SIGNING_KEY),
            "{id}: that secret only"
        );
    }
}

#[test]
fn every_variable_the_template_sets_is_one_the_functions_read() {
    let template = template();
    let config =
        std::fs::read_to_string(workspace_root().join("shared/api/src/config.rs")).unwrap();
    for binary in ["signup", "login", "contexts"] {
        let (id, function) = function(&template, binary);
        let variables = function["Properties"]["Environment"]["Variables"]
            .as_hash()
            .unwrap_or_else(|| panic!("{id} is configured"));
        let names: BTreeSet<&str> = variables.keys().filter_map(Yaml::as_str).collect();
        assert!(names.contains("MEM0_TABLE"), "{id}");
        assert_eq!(
            variables[&Yaml::String("MEM0_TABLE".into())],
            reference("Table"),
            "{id}"
        );
        for name in names {
            assert!(
                config.contains(&format!("\"{name}\"")),
                "{id} sets {name}, which shared/api/src/config.rs does not read"
            );
        }
    }
}

#[test]
fn the_outputs_give_the_url() {
    let template = template();
    for output in ["ApiUrl", "PagesUrl"] {
        let url = template["Outputs"][output]["Value"]["Fn::Sub"]
            .as_str()
            .unwrap_or_else(|| panic!("output {output}"));
        assert!(url.starts_with("https://${Api}."), "{output}: {url}");
    }
}
