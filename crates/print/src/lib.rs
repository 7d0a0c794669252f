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
    /// 电子证照 copy with seal and QR: input is `LicenseDoc`.
    License,
    /// 申请回执 / 受理回执 with the case number and 查询码: input is `ReceiptDoc`.
    Receipt,
    /// A report of tables (the evaluation indicators): input is `TableReportDoc`.
    TableReport,
}

impl Template {
    fn source(self) -> (&'static str, &'static str) {
        match self {
            Template::Guide => ("guide.typ", include_str!("../templates/guide.typ")),
            Template::License => ("license.typ", include_str!("../templates/license.typ")),
            Template::Receipt => ("receipt.typ", include_str!("../templates/receipt.typ")),
            Template::TableReport => ("table_report.typ", include_str!("../templates/table_report.typ")),
        }
    }
}

/// What a printed license shows (`Template::License`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LicenseDoc {
    pub title: String,
    /// `certificate` (A4) or `card`.
    pub layout: String,
    pub id: String,
    pub number: String,
    pub holder: String,
    pub holder_id: String,
    /// Type-specific fields as (label, value), in print order.
    pub fields: Vec<(String, String)>,
    pub valid: String,
    pub issuer: String,
    pub issued_on: String,
    pub footer: Option<String>,
    pub seal: SealMark,
    /// The QR code as SVG (`qr_svg`).
    pub qr_svg: String,
    /// The node's base URL, printed as where to verify.
    pub verify_host: String,
    /// For a 加注件: printed across every page.
    pub annotation: Option<String>,
    /// A status worth flagging on the copy (revoked, suspended …).
    pub status_note: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SealMark {
    pub key_id: String,
    /// The start of the SM2 signature in hex, as a visible fingerprint.
    pub signature: String,
}

/// What a case receipt shows (`Template::Receipt`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReceiptDoc {
    /// 申请回执 or 受理回执.
    pub title: String,
    pub case_no: String,
    /// (label, value) rows: item, applicant (masked), query code, dates …
    pub rows: Vec<(String, String)>,
    pub agency: String,
    pub issued_at: String,
    /// Where to query progress, printed and in the QR code.
    pub query_url: String,
    pub qr_svg: String,
}

/// A report of titled tables with notes (`Template::TableReport`), landscape A4.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TableReportDoc {
    pub title: String,
    pub subtitle: String,
    pub sections: Vec<ReportTable>,
    pub notes: Vec<String>,
}

/// One table of a [`TableReportDoc`]: a header row and rows of text cells.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReportTable {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A QR code (error correction M) as an SVG document, black on white with a
/// quiet zone.
pub fn qr_svg(data: &str) -> Result<String, PrintError> {
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| PrintError::Data(format!("QR code: {e}")))?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build())
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
        let sources = [Template::Guide, Template::License, Template::Receipt, Template::TableReport].map(Template::source);
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
