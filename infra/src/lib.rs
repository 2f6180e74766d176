//! `infra/template.yaml` read back as data, for the checks in `tests/template.rs` that
//! keep it in step with the code: the table with `shared/store`'s schema, the routes
//! with the function whose router answers them (and the HTTP contract and the
//! `cargo lambda watch` router), the permissions with what each function calls.
//!
//! CloudFormation's short-form tags are read as the long form that JSON templates use,
//! so nothing is lost: `!Ref Table` is `{Ref: Table}`, `!GetAtt Table.Arn` is
//! `{"Fn::GetAtt": "Table.Arn"}`, `!Sub ...` is `{"Fn::Sub": ...}`.

use std::path::Path;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};
pub use yaml_rust2::{Yaml, yaml::Hash};

/// The template's path.
pub fn template_path() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
}

/// Reads and parses the template.
pub fn template() -> Result<Yaml, String> {
    let path = template_path();
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    parse(&text).map_err(|error| format!("{}: {error}", path.display()))
}

/// Parses one YAML document, turning CloudFormation tags into intrinsic functions.
pub fn parse(text: &str) -> Result<Yaml, String> {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, false)
        .map_err(|error| error.to_string())?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    builder.root.ok_or_else(|| "empty document".to_owned())
}

/// A node being built: its value, its CloudFormation tag, and (for a mapping) the key
/// waiting for its value.
struct Open {
    node: Yaml,
    tag: Option<Tag>,
    key: Option<Yaml>,
}

#[derive(Default)]
struct Builder {
    open: Vec<Open>,
    root: Option<Yaml>,
    error: Option<String>,
}

impl Builder {
    fn close(&mut self, node: Yaml, tag: Option<Tag>) {
        let node = match tag.and_then(|tag| intrinsic(&tag)) {
            Some(function) => {
                let mut hash = Hash::new();
                hash.insert(Yaml::String(function), node);
                Yaml::Hash(hash)
            }
            None => node,
        };
        let Some(parent) = self.open.last_mut() else {
            self.root = Some(node);
            return;
        };
        match &mut parent.node {
            Yaml::Array(items) => items.push(node),
            Yaml::Hash(hash) => match parent.key.take() {
                None => parent.key = Some(node),
                Some(key) => {
                    hash.insert(key, node);
                }
            },
            _ => {}
        }
    }
}

/// `!Ref` -> `Ref`, `!Condition` -> `Condition`, `!GetAtt` -> `Fn::GetAtt`, ...;
/// YAML's own tags (`!!str`) are not intrinsics.
fn intrinsic(tag: &Tag) -> Option<String> {
    if tag.handle != "!" {
        return None;
    }
    Some(match tag.suffix.as_str() {
        name @ ("Ref" | "Condition") => name.to_owned(),
        name => format!("Fn::{name}"),
    })
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, _mark: Marker) {
        match event {
            Event::SequenceStart(_, tag) => self.open.push(Open {
                node: Yaml::Array(Vec::new()),
                tag,
                key: None,
            }),
            Event::MappingStart(_, tag) => self.open.push(Open {
                node: Yaml::Hash(Hash::new()),
                tag,
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.open.pop() {
                    self.close(open.node, open.tag);
                }
            }
            Event::Scalar(value, style, _, tag) => {
                let node = if style == TScalarStyle::Plain && tag.is_none() {
                    Yaml::from_str(&value)
                } else {
                    Yaml::String(value)
                };
                self.close(node, tag);
            }
            Event::Alias(_) => {
                self.error = Some("YAML aliases are not used in CloudFormation templates".into());
            }
            _ => {}
        }
    }
}

/// The resources of one type, with their logical ids, in template order.
pub fn resources<'a>(template: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    template["Resources"]
        .as_hash()
        .into_iter()
        .flatten()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .filter_map(|(id, resource)| Some((id.as_str()?, resource)))
        .collect()
}

/// One route of the HTTP API and the binary of the function it reaches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// `GET`, `POST`, ..., or `ANY`; `ANY` for the default route.
    pub method: String,
    /// `/contexts/{name}`; `$default` for the route taking whatever no other matches.
    pub path: String,
    /// The function's `Metadata.BuildProperties.Binary`: the Cargo binary it runs.
    pub binary: String,
}

/// Every `HttpApi` event of every function.
pub fn routes(template: &Yaml) -> Vec<Route> {
    let mut routes = Vec::new();
    for (_, function) in resources(template, "AWS::Serverless::Function") {
        let binary = binary(function).unwrap_or_default().to_owned();
        for (_, event) in function["Properties"]["Events"]
            .as_hash()
            .into_iter()
            .flatten()
        {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let properties = &event["Properties"];
            routes.push(Route {
                method: properties["Method"]
                    .as_str()
                    .unwrap_or("ANY")
                    .to_ascii_uppercase(),
                path: properties["Path"].as_str().unwrap_or("$default").to_owned(),
                binary: binary.clone(),
            });
        }
    }
    routes.sort();
    routes
}

/// The Cargo binary a function is built from.
pub fn binary(function: &Yaml) -> Option<&str> {
    function["Metadata"]["BuildProperties"]["Binary"].as_str()
}

/// `value` as a list of strings, whether written as one string or a list.
pub fn strings(value: &Yaml) -> Vec<&str> {
    match value {
        Yaml::String(one) => vec![one.as_str()],
        Yaml::Array(items) => items.iter().filter_map(Yaml::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A `{Ref: name}` node.
pub fn reference(name: &str) -> Yaml {
    intrinsic_call("Ref", Yaml::String(name.to_owned()))
}

/// A `{function: argument}` node, as a tag like `!GetAtt Table.Arn` reads.
pub fn intrinsic_call(function: &str, argument: Yaml) -> Yaml {
    let mut hash = Hash::new();
    hash.insert(Yaml::String(function.to_owned()), argument);
    Yaml::Hash(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_tags_read_as_intrinsic_functions() {
        let yaml = parse(
            "a: !Ref Table\nb: !GetAtt Table.Arn\nc: !Sub '${Table.Arn}/index/x'\n\
             d: !If [Cond, [1, 2], !Ref AWS::NoValue]\ne: plain\nf: '80'\ng: 80\n",
        )
        .unwrap();
        assert_eq!(yaml["a"], reference("Table"));
        assert_eq!(
            yaml["b"],
            intrinsic_call("Fn::GetAtt", Yaml::String("Table.Arn".into()))
        );
        assert_eq!(
            yaml["c"],
            intrinsic_call("Fn::Sub", Yaml::String("${Table.Arn}/index/x".into()))
        );
        let branches = yaml["d"]["Fn::If"].as_vec().unwrap();
        assert_eq!(branches[0].as_str(), Some("Cond"));
        assert_eq!(
            branches[1],
            Yaml::Array(vec![Yaml::Integer(1), Yaml::Integer(2)])
        );
        assert_eq!(branches[2], reference("AWS::NoValue"));
        assert_eq!(yaml["e"].as_str(), Some("plain"));
        assert_eq!(yaml["f"].as_str(), Some("80"));
        assert_eq!(yaml["g"].as_i64(), Some(80));
    }

    #[test]
    fn broken_yaml_is_an_error_not_an_empty_template() {
        assert!(parse("a: [1, 2\n").is_err());
        assert!(parse("a: &x 1\nb: *x\n").is_err());
    }
}
