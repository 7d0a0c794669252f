//! Printable documents (PDF) with Chinese fonts. Documents are Typst templates
//! bundled in the binary, fed one JSON value; the font is a bundled subset of
//! Noto Sans CJK SC (SIL OFL 1.1, see `fonts/README.md`), so a new machine
//! prints without installing anything and no document ever fetches a package.

use std::sync::Arc;

use typst::foundations::{Bytes, Dict, IntoValue};
use typst_as_lib::TypstEngine;
use typst_layout::PagedDocument;
use yiwang_errors::{Coded, ErrorKind};

static FONT_REGULAR: &[u8] = include_bytes!("../fonts/NotoSansSC-Regular-subset.otf");

/// The documents we print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// 办事指南: input is `yiwang_catalog::guide::Guide`.
    Guide,
}

impl Template {
    fn source(self) -> (&'static str, &'static str) {
        match self {
            Template::Guide => ("guide.typ", include_str!("../templates/guide.typ")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("the document could not be typeset: {0}")]
    Typeset(String),
    #[error("the document could not be written as PDF: {0}")]
    Pdf(String),
    #[error("the document data could not be encoded: {0}")]
    Data(String),
}

impl Coded for PrintError {
    fn code(&self) -> &'static str {
        match self {
            PrintError::Typeset(_) => "print.typeset",
            PrintError::Pdf(_) => "print.pdf",
            PrintError::Data(_) => "print.data",
        }
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }
    fn message_zh(&self) -> String {
        "文档生成失败，请稍后重试".into()
    }
}

/// Compiles documents. Cheap to clone; build one per process (loading the
/// font and parsing the templates once).
#[derive(Clone)]
pub struct Printer {
    engine: Arc<TypstEngine>,
}

impl Default for Printer {
    fn default() -> Self {
        Printer::new()
    }
}

impl Printer {
    pub fn new() -> Printer {
        let sources = [Template::Guide].map(Template::source);
        let engine = TypstEngine::builder().fonts([FONT_REGULAR]).with_static_source_file_resolver(sources).build();
        Printer { engine: Arc::new(engine) }
    }

    /// Typeset `data` with `template` and write it as PDF. CPU-bound (tens of
    /// milliseconds): call it from a blocking thread in async code.
    pub fn pdf<T: serde::Serialize>(&self, template: Template, data: &T) -> Result<Vec<u8>, PrintError> {
        let json = serde_json::to_vec(data).map_err(|e| PrintError::Data(e.to_string()))?;
        let mut inputs = Dict::new();
        inputs.insert("data".into(), Bytes::new(json).into_value());
        let (name, _) = template.source();
        let doc: PagedDocument = self.engine.compile_with_input(name, inputs).output.map_err(|e| PrintError::Typeset(format!("{e:?}")))?;
        typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default()).map_err(|e| PrintError::Pdf(format!("{e:?}")))
    }
}
