//! A small element tree over quick-xml. BPMN files are small (kilobytes), and
//! the parser needs to look ahead (an event's definitions are its children), so
//! a tree is simpler than streaming. Names are local names: modelers use
//! different prefixes for the same namespaces (`bpmn:`, `bpmn2:`, none).

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

#[derive(Debug, Clone, Default)]
pub struct Element {
    /// Local name, e.g. `userTask`.
    pub name: String,
    /// (local name, value) in document order; `xmlns` declarations dropped.
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    /// Concatenated text content (entities resolved, trimmed).
    pub text: String,
}

impl Element {
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == local).map(|(_, v)| v.as_str())
    }

    pub fn child(&self, local: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == local)
    }
}

/// Why a file is not well-formed XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// Byte offset where reading stopped.
    pub position: u64,
    pub message: String,
}

fn local(name: &str) -> String {
    name.rsplit_once(':').map_or(name, |(_, l)| l).to_string()
}

fn element(start: &BytesStart<'_>) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for a in start.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let key: &str = a.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = a.normalized_value(XmlVersion::Implicit1_0).map_err(|e| e.to_string())?.into_owned();
        attrs.push((local(key), value));
    }
    Ok(Element { name: local(start.local_name().as_ref()), attrs, children: Vec::new(), text: String::new() })
}

/// Parse a document into its root element.
/// How deep elements may nest. BPMN models nest a few levels (process,
/// subprocess, task, extension elements); the tree is walked recursively, so
/// its depth is bounded for any input.
pub const MAX_DEPTH: usize = 64;
/// How many elements a model may have.
pub const MAX_ELEMENTS: usize = 20_000;

pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    let err = |reader: &Reader<&[u8]>, message: String| XmlError { position: reader.buffer_position(), message };
    loop {
        let event = reader.read_event().map_err(|e| err(&reader, e.to_string()))?;
        if matches!(event, Event::Start(_) | Event::Empty(_)) {
            elements += 1;
            if elements > MAX_ELEMENTS {
                return Err(err(&reader, format!("more than {MAX_ELEMENTS} elements")));
            }
            if stack.len() >= MAX_DEPTH {
                return Err(err(&reader, format!("elements nested deeper than {MAX_DEPTH}")));
            }
        }
        match event {
            Event::Start(s) => stack.push(element(&s).map_err(|m| err(&reader, m))?),
            Event::Empty(s) => {
                let e = element(&s).map_err(|m| err(&reader, m))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => root = Some(e),
                }
            }
            Event::End(_) => {
                let Some(mut done) = stack.pop() else {
                    return Err(err(&reader, "unexpected end tag".into()));
                };
                done.text = done.text.trim().to_string();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml_content(XmlVersion::Implicit1_0));
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| err(&reader, e.to_string()))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.into_inner();
                        resolve_predefined_entity(&name)
                            .map(str::to_string)
                            .ok_or_else(|| err(&reader, format!("unknown entity &{name};")))?
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(err(&reader, "unexpected end of file".into()));
    }
    root.ok_or_else(|| err(&reader, "no root element".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn local_names_text_and_entities() {
        let root = parse(
            r#"<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="x" xmlns:camunda="y"><bpmn:sequenceFlow id="f" camunda:x="1">
            <bpmn:conditionExpression><![CDATA[a < 3]]> &amp;&amp; b &gt; 2</bpmn:conditionExpression></bpmn:sequenceFlow></bpmn:definitions>"#,
        )
        .unwrap();
        assert_eq!(root.name, "definitions");
        assert!(root.attrs.is_empty());
        let flow = root.child("sequenceFlow").unwrap();
        assert_eq!(flow.attr("id"), Some("f"));
        assert_eq!(flow.attr("x"), Some("1"));
        assert_eq!(flow.child("conditionExpression").unwrap().text, "a < 3 && b > 2");
    }

    #[test]
    fn malformed_is_an_error() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse("").is_err());
    }
}
