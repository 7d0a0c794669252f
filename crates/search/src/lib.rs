//! Chinese full-text search over the published catalog.
//!
//! An in-memory tantivy index, rebuilt from the published items whenever the
//! catalog's generation changes (the web layer decides when). Text is segmented
//! with jieba in search mode, so "居民身份证" is indexed as 居民, 身份, 身份证 and
//! 居民身份证, and a query for 身份证 finds it. Queries are built term by term (no
//! query syntax for users to trip over): each query token is looked up in the
//! name, aliases, materials and agency fields with decreasing boosts, and items
//! are ranked by BM25. A query with no jieba match falls back to character
//! bigrams over names and aliases, so unusual words still find something.

use std::collections::HashMap;

use serde::Serialize;
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{NgramTokenizer, TextAnalyzer, TokenStream, Tokenizer};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};
use yiwang_catalog::ItemDoc;
use yiwang_catalog::guide::badges;

const JIEBA: &str = "jieba";
const BIGRAM: &str = "bigram";

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}

impl yiwang_errors::Coded for SearchError {
    fn code(&self) -> &'static str {
        "search.index"
    }
    fn kind(&self) -> yiwang_errors::ErrorKind {
        yiwang_errors::ErrorKind::Internal
    }
    fn message_zh(&self) -> String {
        "事项检索暂时不可用".into()
    }
}

/// What a search result shows, without another database read.
#[derive(Debug, Clone, Serialize)]
pub struct ItemSummary {
    pub implementation_code: String,
    pub name: String,
    pub agency_uscc: String,
    pub agency_name: String,
    pub task_type: String,
    pub service_objects: Vec<&'static str>,
    pub themes: Vec<String>,
    pub promised_limit: String,
    pub visits: u8,
    pub fully_online: bool,
    pub badges: Vec<String>,
    pub version: i64,
    pub suspended: bool,
}

/// One published item, as the index takes it.
pub struct Indexable<'a> {
    pub doc: &'a ItemDoc,
    pub version: i64,
    pub suspended: bool,
    /// The agency's division code (6 digits).
    pub division: &'a str,
}

/// Who the service is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Natural,
    Legal,
}

/// The most hits one page returns.
pub const MAX_LIMIT: usize = 100;
/// How deep paging may reach (offset + limit), like a search engine's result
/// window: the collector allocates for the whole window, so it is bounded.
pub const MAX_WINDOW: usize = 10_000;

/// A search request.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub q: String,
    pub audience: Option<Audience>,
    pub theme: Option<String>,
    pub agency: Option<String>,
    /// A division code: items of agencies in it or under it.
    pub region: Option<String>,
    pub fully_online: bool,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    #[serde(flatten)]
    pub item: ItemSummary,
    pub score: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub total: usize,
    pub hits: Vec<SearchHit>,
    /// Whether the bigram fallback produced these results.
    pub fuzzy: bool,
}

struct Fields {
    code: Field,
    name: Field,
    aliases: Field,
    materials: Field,
    agency_text: Field,
    grams: Field,
    audience: Field,
    theme: Field,
    agency: Field,
    region: Field,
    online: Field,
}

/// The index of one catalog generation. Immutable; build a new one on change.
pub struct CatalogIndex {
    reader: IndexReader,
    fields: Fields,
    summaries: HashMap<String, ItemSummary>,
    jieba: tantivy_jieba::JiebaTokenizer,
    generation: i64,
}

fn text(tokenizer: &str, stored: bool) -> TextOptions {
    let o = TextOptions::default()
        .set_indexing_options(TextFieldIndexing::default().set_tokenizer(tokenizer).set_index_option(IndexRecordOption::WithFreqs));
    if stored { o.set_stored() } else { o }
}

/// The division and its ancestors: 330106 → 330106, 330100, 330000.
fn region_terms(division: &str) -> Vec<String> {
    let mut v = vec![division.to_string()];
    if division.len() == 6 {
        v.push(format!("{}00", &division[..4]));
        v.push(format!("{}0000", &division[..2]));
    }
    v.dedup();
    v
}

impl CatalogIndex {
    pub fn generation(&self) -> i64 {
        self.generation
    }

    pub fn len(&self) -> usize {
        self.summaries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.summaries.is_empty()
    }

    /// All themes in the index, for the search page's filter.
    pub fn themes(&self) -> Vec<String> {
        let mut v: Vec<String> = self.summaries.values().flat_map(|s| s.themes.iter().cloned()).collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn build<'a>(items: impl IntoIterator<Item = Indexable<'a>>, generation: i64) -> Result<CatalogIndex, SearchError> {
        let mut sb = Schema::builder();
        let fields = Fields {
            code: sb.add_text_field("code", STRING | STORED),
            name: sb.add_text_field("name", text(JIEBA, false)),
            aliases: sb.add_text_field("aliases", text(JIEBA, false)),
            materials: sb.add_text_field("materials", text(JIEBA, false)),
            agency_text: sb.add_text_field("agency_text", text(JIEBA, false)),
            grams: sb.add_text_field("grams", text(BIGRAM, false)),
            audience: sb.add_text_field("audience", STRING),
            theme: sb.add_text_field("theme", STRING),
            agency: sb.add_text_field("agency", STRING),
            region: sb.add_text_field("region", STRING),
            online: sb.add_text_field("online", STRING),
        };
        let index = Index::create_in_ram(sb.build());
        let jieba = tantivy_jieba::JiebaTokenizer::new();
        index.tokenizers().register(JIEBA, jieba.clone());
        let bigrams = NgramTokenizer::new(2, 2, false)?;
        index.tokenizers().register(BIGRAM, TextAnalyzer::builder(bigrams).build());
        let mut writer = index.writer_with_num_threads(1, 50_000_000)?;
        let mut summaries = HashMap::new();
        for it in items {
            let d = it.doc;
            let mut td = doc!(
                fields.code => d.implementation_code.clone(),
                fields.name => d.name.clone(),
                fields.agency_text => d.agency.name.clone(),
                fields.grams => format!("{} {}", d.name, d.aliases.join(" ")),
                fields.agency => d.agency.uscc.clone(),
                fields.online => if d.fully_online() { "1" } else { "0" },
            );
            for a in &d.aliases {
                td.add_text(fields.aliases, a);
            }
            for m in &d.materials {
                td.add_text(fields.materials, &m.name);
            }
            if d.for_natural_persons() {
                td.add_text(fields.audience, "natural");
            }
            if d.for_legal_persons() {
                td.add_text(fields.audience, "legal");
            }
            for t in d.all_themes() {
                td.add_text(fields.theme, t);
            }
            for r in region_terms(it.division) {
                td.add_text(fields.region, &r);
            }
            writer.add_document(td)?;
            summaries.insert(
                d.implementation_code.clone(),
                ItemSummary {
                    implementation_code: d.implementation_code.clone(),
                    name: d.name.clone(),
                    agency_uscc: d.agency.uscc.clone(),
                    agency_name: d.agency.name.clone(),
                    task_type: d.task_type.name_zh().into(),
                    service_objects: d.service_objects.iter().map(|o| o.name_zh()).collect(),
                    themes: d.all_themes().map(String::from).collect(),
                    promised_limit: d.promised_limit.display(),
                    visits: d.visits,
                    fully_online: d.fully_online(),
                    badges: badges(d),
                    version: it.version,
                    suspended: it.suspended,
                },
            );
        }
        writer.commit()?;
        let reader = index.reader()?;
        Ok(CatalogIndex { reader, fields, summaries, jieba, generation })
    }

    /// The query's jieba tokens (search mode), without punctuation, deduplicated.
    fn tokens(&self, q: &str) -> Vec<String> {
        let mut tokenizer = self.jieba.clone();
        let mut stream = tokenizer.token_stream(q);
        let mut out: Vec<String> = Vec::new();
        while let Some(t) = stream.next() {
            let s = t.text.trim();
            if !s.is_empty() && s.chars().any(char::is_alphanumeric) && !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        }
        out
    }

    fn filters(&self, q: &SearchQuery) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.fields;
        let mut v: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut term = |field: Field, value: &str| {
            v.push((
                Occur::Must,
                Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic)) as Box<dyn Query>,
            ));
        };
        match q.audience {
            Some(Audience::Natural) => term(f.audience, "natural"),
            Some(Audience::Legal) => term(f.audience, "legal"),
            None => {}
        }
        if let Some(t) = q.theme.as_deref().filter(|t| !t.is_empty()) {
            term(f.theme, t);
        }
        if let Some(a) = q.agency.as_deref().filter(|a| !a.is_empty()) {
            term(f.agency, a);
        }
        if let Some(r) = q.region.as_deref().filter(|r| !r.is_empty()) {
            term(f.region, r);
        }
        if q.fully_online {
            term(f.online, "1");
        }
        v
    }

    fn text_query(&self, tokens: &[String], fuzzy: bool) -> Box<dyn Query> {
        let f = &self.fields;
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if fuzzy {
            for t in tokens {
                should.push((Occur::Should, Box::new(TermQuery::new(Term::from_field_text(f.grams, t), IndexRecordOption::WithFreqs))));
            }
        } else {
            for t in tokens {
                for (field, boost) in [(f.name, 4.0), (f.aliases, 3.0), (f.agency_text, 1.0), (f.materials, 0.8)] {
                    let tq = TermQuery::new(Term::from_field_text(field, t), IndexRecordOption::WithFreqs);
                    should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), boost))));
                }
            }
        }
        Box::new(BooleanQuery::new(should))
    }

    fn bigrams(q: &str) -> Vec<String> {
        let chars: Vec<char> = q.chars().filter(|c| c.is_alphanumeric()).collect();
        let mut v: Vec<String> = chars.windows(2).map(|w| w.iter().collect()).collect();
        v.dedup();
        v
    }

    pub fn search(&self, q: &SearchQuery) -> Result<SearchResult, SearchError> {
        let searcher = self.reader.searcher();
        let limit = q.limit.clamp(1, MAX_LIMIT);
        // tantivy sizes its collector by offset + limit up front: never past the window.
        let offset = q.offset.min(MAX_WINDOW - limit);
        let filters = self.filters(q);
        let tokens = self.tokens(q.q.trim());
        if tokens.is_empty() {
            // Browsing: everything that passes the filters, by name.
            let query: Box<dyn Query> = if filters.is_empty() { Box::new(AllQuery) } else { Box::new(BooleanQuery::new(filters)) };
            let docs = searcher.search(&query, &DocSetCollector)?;
            let mut items: Vec<&ItemSummary> = Vec::with_capacity(docs.len());
            for addr in docs {
                let d: TantivyDocument = searcher.doc(addr)?;
                if let Some(s) = d.get_first(self.fields.code).and_then(|v| v.as_str()).and_then(|c| self.summaries.get(c)) {
                    items.push(s);
                }
            }
            items.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.implementation_code.cmp(&b.implementation_code)));
            let total = items.len();
            let hits = items.into_iter().skip(offset).take(limit).map(|s| SearchHit { item: s.clone(), score: 0.0 }).collect();
            return Ok(SearchResult { total, hits, fuzzy: false });
        }
        for fuzzy in [false, true] {
            let terms = if fuzzy { Self::bigrams(&q.q) } else { tokens.clone() };
            if terms.is_empty() {
                continue;
            }
            let mut clauses = self.filters(q);
            clauses.push((Occur::Must, self.text_query(&terms, fuzzy)));
            let query = BooleanQuery::new(clauses);
            let (top, total) = searcher.search(&query, &(TopDocs::with_limit(limit).and_offset(offset).order_by_score(), Count))?;
            if total == 0 {
                continue;
            }
            let mut hits = Vec::with_capacity(top.len());
            for (score, addr) in top {
                let d: TantivyDocument = searcher.doc(addr)?;
                if let Some(s) = d.get_first(self.fields.code).and_then(|v| v.as_str()).and_then(|c| self.summaries.get(c)) {
                    hits.push(SearchHit { item: s.clone(), score });
                }
            }
            return Ok(SearchResult { total, hits, fuzzy });
        }
        Ok(SearchResult { total: 0, hits: vec![], fuzzy: false })
    }
}
