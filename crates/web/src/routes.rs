//! The route table: every route of the node, each with its access policy. The
//! router is built from this table only, so a route cannot exist without a
//! policy; the route × role test enumerates the same table.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware;
use axum::routing::{MethodRouter, delete, get, post, put};
use yiwang_identity::{Access, Role};

use crate::auth::{RoutePolicy, enforce};
use crate::catalog::{ANALYSIS_READERS, CATALOG_STAFF};
use crate::supervision_orders::{ORDER_ACTORS, SUPERVISION_READERS};
use crate::{
    AppState, api, application_pages, bundle_pages, bundles, case_pages, case_staff, cases, catalog, catalog_pages, federation,
    identity_api, integration, licenses, machine_clients, notices, oidc, openapi, pages, setup, wallet, workbench_pages, workflow,
};

/// One route and who may call it.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    /// Whether state-changing requests must carry the CSRF token.
    pub csrf: bool,
    /// Whether a machine client's bearer token (client credentials) may call
    /// it; on every other route such a token authenticates nobody.
    pub machine: bool,
}

struct RouteDef {
    spec: RouteSpec,
    handler: MethodRouter<AppState>,
}

const STAFF_READERS: &[Role] = &[Role::WindowClerk, Role::Reviewer, Role::DataOfficer];
const ANY_STAFF: &[Role] = &Role::ALL;
const ADMIN: &[Role] = &[Role::Admin];
const SETUP_STAFF: &[Role] = &[Role::Admin, Role::DataOfficer];
/// Who reads the statistics aggregated from the nodes below (counts only).
const AGGREGATE_READERS: &[Role] = &[Role::Admin, Role::DataOfficer, Role::Supervisor];
/// Who publishes a bundle another person drafted (the items' four eyes).
const PUBLISHERS: &[Role] = &[Role::CatalogReviewer];
const BUNDLE_STAFF: &[Role] = &[Role::Admin, Role::CatalogReviewer];
const SETUP_PAGE: &[Role] = &[Role::Admin, Role::DataOfficer, Role::CatalogReviewer];
const EDITOR: &[Role] = &[Role::CatalogEditor];

fn def(method: &'static str, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> RouteDef {
    RouteDef { spec: RouteSpec { method, path, access, csrf: true, machine: false }, handler }
}

/// Open to department systems' machine clients (their bearer tokens) as well.
fn machine(mut d: RouteDef) -> RouteDef {
    d.spec.machine = true;
    d
}

/// Authenticated by client credentials or bearer token, never by cookie: no CSRF exposure.
fn no_csrf(mut d: RouteDef) -> RouteDef {
    d.spec.csrf = false;
    d
}

fn table() -> Vec<RouteDef> {
    use Access::{Authenticated, Public, Staff};
    vec![
        // Front door and operations.
        def("GET", "/", Public, get(pages::home)),
        def("GET", "/healthz", Public, get(crate::healthz)),
        def("GET", "/readyz", Public, get(crate::readyz)),
        def("GET", "/metrics", Public, get(crate::metrics_text)),
        // Accounts and sessions.
        def("GET", "/login", Public, get(pages::login_form)),
        def("POST", "/login", Public, post(pages::login_submit)),
        def("GET", "/register", Public, get(pages::register_form)),
        def("POST", "/register", Public, post(pages::register_submit)),
        def("GET", "/register/verify", Public, get(pages::verify_form)),
        def("POST", "/register/verify", Public, post(pages::verify_submit)),
        def("GET", "/account", Authenticated, get(pages::account_page)),
        def("POST", "/account/acting", Authenticated, post(pages::switch_acting)),
        def("POST", "/account/enterprises", Authenticated, post(pages::open_enterprise)),
        def("POST", "/logout", Authenticated, post(pages::logout)),
        def("POST", "/logout/all", Authenticated, post(pages::logout_all)),
        def("GET", "/console", Staff(ANY_STAFF), get(pages::console)),
        // OIDC provider.
        def("GET", "/.well-known/openid-configuration", Public, get(oidc::discovery)),
        def("GET", "/oidc/jwks", Public, get(oidc::jwks)),
        def("GET", "/oidc/authorize", Public, get(oidc::authorize)),
        def("POST", "/oidc/authorize", Authenticated, post(oidc::consent)),
        no_csrf(def("POST", "/oidc/token", Public, post(oidc::token))),
        no_csrf(def("GET", "/oidc/userinfo", Public, get(oidc::userinfo))),
        no_csrf(def("POST", "/oidc/userinfo", Public, post(oidc::userinfo))),
        def("GET", "/oidc/logout", Public, get(oidc::logout_page)),
        def("POST", "/oidc/logout", Public, post(oidc::logout_confirm)),
        // Federated login through trusted nodes.
        def("GET", "/federation/{provider}/login", Public, get(federation::start)),
        def("GET", "/federation/{provider}/callback", Public, get(federation::callback)),
        def("POST", "/federation/{provider}/confirm", Public, post(federation::confirm)),
        // The node-to-node exchange: peers authenticate by their signed envelopes.
        no_csrf(def(
            "POST",
            "/gx/1/exchange",
            Public,
            post(crate::exchange::receive).layer(DefaultBodyLimit::max(crate::exchange::BODY_LIMIT)),
        )),
        def("GET", "/gx/1/registry", Public, get(crate::exchange::publish_registry)),
        // Public utilities.
        def("GET", "/api/v1/codes/{value}", Public, get(api::codes)),
        def("GET", "/api/v1/calendar/days/{date}", Public, get(api::calendar_day)),
        def("PUT", "/api/v1/calendar/days/{date}", Staff(ADMIN), put(identity_api::set_calendar_day)),
        def("GET", "/api/v1/calendar/add-workdays", Public, get(api::add_workdays)),
        def("GET", "/api/openapi.json", Public, get(openapi::openapi)),
        def("GET", "/api/v1/seals", Public, get(api::seals)),
        def("GET", "/licenses/verify", Public, get(api::verify_license_page)),
        def("GET", "/api/v1/licenses/verify", Public, get(api::verify_license_token)),
        // Changes nothing and reads no session: no CSRF exposure.
        no_csrf(def("POST", "/api/v1/licenses/verify", Public, post(api::verify_license_file))),
        // E-licenses: agencies use them with a reason (logged); holders see their own and every use.
        def("GET", "/api/v1/licenses/{id}", Staff(licenses::LICENSE_USERS), get(licenses::use_license)),
        def("GET", "/api/v1/licenses", Staff(licenses::LICENSE_USERS), get(licenses::query_by_holder)),
        def("POST", "/api/v1/licenses", Staff(licenses::LICENSE_ISSUERS), post(licenses::issue_license)),
        def("POST", "/api/v1/licenses/{id}/status", Staff(licenses::LICENSE_ISSUERS), post(licenses::set_status)),
        // Cases (办件): the applicant's routes, the agency's events, the public progress query.
        def("POST", "/api/v1/cases", Authenticated, post(cases::apply)),
        def("POST", "/api/v1/cases/{no}/submit", Authenticated, post(cases::submit)),
        def("POST", "/api/v1/cases/{no}/corrected", Authenticated, post(cases::corrected)),
        def("POST", "/api/v1/cases/{no}/withdraw", Authenticated, post(cases::withdraw)),
        def("POST", "/api/v1/cases/{no}/events", Staff(cases::CASE_STAFF), post(case_staff::staff_event)),
        def("POST", "/api/v1/cases/{no}/shared-data", Staff(cases::CASE_HANDLERS), post(crate::shared_materials::refetch_api)),
        def("GET", "/api/v1/cases/{no}", Authenticated, get(cases::case)),
        def("GET", "/api/v1/cases/{no}/events", Authenticated, get(cases::events)),
        def("GET", "/api/v1/me/cases", Authenticated, get(cases::my_cases)),
        def("GET", "/api/v1/workbench/cases", Staff(cases::CASE_STAFF), get(cases::inbox)),
        def("GET", "/api/v1/case-progress", Public, get(cases::progress)),
        def("GET", "/me/cases", Authenticated, get(case_pages::cases_page)),
        // 消息: notices about the caller's cases, and the channels they want.
        def("GET", "/api/v1/me/notices", Authenticated, get(notices::list)),
        def("POST", "/api/v1/me/notices/read-all", Authenticated, post(notices::mark_all_read)),
        def("POST", "/api/v1/me/notices/{id}/read", Authenticated, post(notices::mark_read)),
        def("GET", "/api/v1/me/notice-preferences", Authenticated, get(notices::preferences)),
        def("PUT", "/api/v1/me/notice-preferences", Authenticated, put(notices::set_preferences)),
        def("GET", "/me/messages", Authenticated, get(notices::page)),
        def("POST", "/me/messages/read", Authenticated, post(notices::page_mark_all)),
        def("POST", "/me/messages/preferences", Authenticated, post(notices::page_preferences)),
        def("PUT", "/api/v1/cases/{no}/form", Authenticated, put(cases::save_form)),
        def(
            "POST",
            "/api/v1/cases/{no}/materials",
            Authenticated,
            post(cases::upload).layer(DefaultBodyLimit::max(cases::UPLOAD_BODY_LIMIT)),
        ),
        def("GET", "/api/v1/cases/{no}/materials/{digest}", Authenticated, get(cases::material_file)),
        def("DELETE", "/api/v1/cases/{no}/materials/{digest}", Authenticated, delete(cases::remove_upload)),
        def("POST", "/api/v1/cases/{no}/commitments", Authenticated, post(cases::commit)),
        def("GET", "/api/v1/me/items/{code}/form", Authenticated, get(cases::my_item_form)),
        def("GET", "/api/v1/workbench/checks", Staff(cases::CHECK_STAFF), get(cases::commitment_checks)),
        def("POST", "/api/v1/window/cases", Staff(&[Role::WindowClerk]), post(case_staff::window_apply)),
        // The integration API for department systems: records in, signed webhooks out.
        machine(def("POST", "/api/v1/integration/cases/{no}/records", Staff(integration::RECORD_SENDERS), post(integration::record))),
        machine(def("POST", "/api/v1/integration/webhooks", Staff(integration::WEBHOOK_ADMINS), post(integration::create_webhook))),
        machine(def("GET", "/api/v1/integration/webhooks", Staff(integration::WEBHOOK_ADMINS), get(integration::list_webhooks))),
        machine(def(
            "GET",
            "/api/v1/integration/webhooks/{id}/deliveries",
            Staff(integration::WEBHOOK_ADMINS),
            get(integration::deliveries),
        )),
        machine(def(
            "DELETE",
            "/api/v1/integration/webhooks/{id}",
            Staff(integration::WEBHOOK_ADMINS),
            delete(integration::delete_webhook),
        )),
        // Department systems' OAuth clients (client credentials), by the node's administrators.
        def("GET", "/api/v1/machine-clients", Staff(ADMIN), get(machine_clients::list)),
        def("POST", "/api/v1/machine-clients", Staff(ADMIN), post(machine_clients::create)),
        def("DELETE", "/api/v1/machine-clients/{id}", Staff(ADMIN), delete(machine_clients::revoke)),
        // The operator's setup: halls, data resources, bundles.
        def("GET", "/api/v1/halls", Public, get(setup::halls)),
        def("POST", "/api/v1/halls", Staff(ADMIN), post(setup::save_hall)),
        def("GET", "/api/v1/data-resources", Public, get(setup::resources)),
        def("POST", "/api/v1/data-resources", Staff(SETUP_STAFF), post(setup::save_resource)),
        // Data sharing: a provider's grants (its data officers, admins).
        def("GET", "/api/v1/resources", Staff(ANY_STAFF), get(crate::sharing::catalog)),
        def("GET", "/api/v1/exchange/log", Staff(ADMIN), get(crate::exchange::log_page)),
        def("GET", "/api/v1/exchange/peers", Staff(SETUP_STAFF), get(crate::exchange::peers)),
        def("GET", "/api/v1/exchange/outbox", Staff(ADMIN), get(crate::exchange_async::outbox_api)),
        def("GET", "/api/v1/exchange/aggregates", Staff(AGGREGATE_READERS), get(crate::exchange_async::aggregates_api)),
        // 电子监察: the alerts the rules raised (supervisors, admins).
        def("GET", "/api/v1/supervision/alerts", Staff(SUPERVISION_READERS), get(crate::supervision_orders::alerts_api)),
        // 监察结果公开: counts per region and agency, for anyone.
        def("GET", "/supervision/public", Public, get(crate::supervision_public::public_page)),
        def("GET", "/api/v1/supervision/public", Public, get(crate::supervision_public::public_api)),
        // 好差评: anyone reads the content; the applicant rates; the agency's head runs a 差评's loop.
        def("GET", "/api/v1/ratings/content", Public, get(crate::ratings::content_api)),
        def("POST", "/api/v1/ratings", Authenticated, post(crate::ratings::rate_api)),
        def("GET", "/api/v1/ratings", Staff(crate::ratings::RATING_READERS), get(crate::ratings::list_api)),
        def("GET", "/api/v1/ratings/stats", Staff(crate::ratings::RATING_READERS), get(crate::ratings::stats_api)),
        def("GET", "/api/v1/ratings/{id}", Authenticated, get(crate::ratings::show_api)),
        def("POST", "/api/v1/ratings/{id}/loop", Staff(crate::ratings::LOOP_ACTORS), post(crate::ratings::loop_api)),
        def("GET", "/console/ratings", Staff(crate::ratings::RATING_READERS), get(crate::ratings::console)),
        def("GET", "/console/statistics", Staff(SUPERVISION_READERS), get(crate::statistics::page)),
        // 第三方评估指标: the five dimensions per agency and region (the supervision scope).
        def("GET", "/api/v1/indicators", Staff(SUPERVISION_READERS), get(crate::indicators::api)),
        def("GET", "/api/v1/indicators/report.pdf", Staff(SUPERVISION_READERS), get(crate::indicators::report_pdf)),
        def("GET", "/console/indicators", Staff(SUPERVISION_READERS), get(crate::indicators::page)),
        def("GET", "/console/ratings/{id}", Staff(crate::ratings::RATING_READERS), get(crate::ratings::rating_page)),
        def("POST", "/console/ratings/{id}/loop", Staff(crate::ratings::LOOP_ACTORS), post(crate::ratings::loop_submit)),
        // 督办单: supervisors issue, verify and close; the agency's head acknowledges and reports.
        def("GET", "/api/v1/supervision/orders", Staff(SUPERVISION_READERS), get(crate::supervision_orders::orders_api)),
        def("POST", "/api/v1/supervision/orders", Staff(&[Role::Supervisor]), post(crate::supervision_orders::issue_api)),
        def("GET", "/api/v1/supervision/orders/{id}", Staff(SUPERVISION_READERS), get(crate::supervision_orders::order_api)),
        def("POST", "/api/v1/supervision/orders/{id}/events", Staff(ORDER_ACTORS), post(crate::supervision_orders::act_api)),
        def("GET", "/console/supervision", Staff(SUPERVISION_READERS), get(crate::supervision_orders::console)),
        def("GET", "/console/supervision/issue", Staff(&[Role::Supervisor]), get(crate::supervision_orders::issue_page)),
        def("POST", "/console/supervision/orders", Staff(&[Role::Supervisor]), post(crate::supervision_orders::issue_submit)),
        def("GET", "/console/supervision/orders/{id}", Staff(SUPERVISION_READERS), get(crate::supervision_orders::order_page)),
        def("POST", "/console/supervision/orders/{id}/events", Staff(ORDER_ACTORS), post(crate::supervision_orders::act_submit)),
        def("GET", "/api/v1/grants", Staff(SETUP_STAFF), get(crate::sharing::list)),
        def("POST", "/api/v1/grants", Staff(SETUP_STAFF), post(crate::sharing::create)),
        def("DELETE", "/api/v1/grants/{id}", Staff(SETUP_STAFF), delete(crate::sharing::revoke)),
        def("GET", "/api/v1/sharing-requests", Staff(SETUP_STAFF), get(crate::sharing::requests)),
        def("POST", "/api/v1/sharing-requests/{id}/decision", Staff(SETUP_STAFF), post(crate::sharing::decide)),
        def("PUT", "/api/v1/bundles/{code}", Staff(ADMIN), put(setup::define_bundle)),
        def("POST", "/api/v1/bundles/{code}/publish", Staff(PUBLISHERS), post(setup::publish_bundle)),
        def("GET", "/api/v1/bundles/{code}/versions", Staff(BUNDLE_STAFF), get(setup::bundle_versions)),
        def("GET", "/console/setup", Staff(SETUP_PAGE), get(setup::page)),
        def("GET", "/console/sharing", Staff(SETUP_STAFF), get(crate::sharing::console)),
        def("GET", "/console/exchange", Staff(ADMIN), get(crate::exchange::console)),
        def("POST", "/console/sharing/requests/{id}/decision", Staff(SETUP_STAFF), post(crate::sharing::console_decide)),
        def("POST", "/console/sharing/grants/{id}/revoke", Staff(SETUP_STAFF), post(crate::sharing::console_revoke)),
        def("POST", "/console/setup/halls", Staff(ADMIN), post(setup::page_save_hall)),
        def("POST", "/console/setup/resources", Staff(SETUP_STAFF), post(setup::page_save_resource)),
        def("POST", "/console/setup/bundles", Staff(ADMIN), post(setup::page_save_bundle)),
        def("POST", "/console/setup/bundles/{code}/publish", Staff(PUBLISHERS), post(setup::page_publish_bundle)),
        // 一件事一次办: the bundles (public) and their applications.
        def("GET", "/api/v1/bundles", Public, get(bundles::list)),
        def("GET", "/api/v1/bundles/{code}", Public, get(bundles::show)),
        def("POST", "/api/v1/bundle-cases", Authenticated, post(bundles::apply)),
        def("GET", "/api/v1/bundle-cases/{no}", Authenticated, get(bundles::show_case)),
        def("GET", "/api/v1/me/bundle-cases", Authenticated, get(bundles::mine)),
        def("PUT", "/api/v1/bundle-cases/{no}/form", Authenticated, put(bundles::save_form)),
        def(
            "POST",
            "/api/v1/bundle-cases/{no}/materials",
            Authenticated,
            post(bundles::upload).layer(DefaultBodyLimit::max(cases::UPLOAD_BODY_LIMIT)),
        ),
        def("POST", "/api/v1/bundle-cases/{no}/commitments", Authenticated, post(bundles::commit)),
        def("POST", "/api/v1/bundle-cases/{no}/submit", Authenticated, post(bundles::submit)),
        def("POST", "/api/v1/bundle-cases/{no}/accept", Staff(&[Role::WindowClerk]), post(bundles::accept)),
        def("GET", "/api/v1/workbench/countersigns", Staff(&[Role::Reviewer, Role::DepartmentHead]), get(cases::countersigns)),
        def("GET", "/items/{code}/apply", Authenticated, get(application_pages::apply_page)),
        def("POST", "/items/{code}/apply", Authenticated, post(application_pages::apply_submit)),
        def("GET", "/me/cases/{no}", Authenticated, get(application_pages::case_page)),
        def("GET", "/bundles", Public, get(bundle_pages::list_page)),
        def("GET", "/bundles/{code}", Public, get(bundle_pages::bundle_page)),
        def("GET", "/bundles/{code}/apply", Authenticated, get(bundle_pages::apply_page)),
        def("POST", "/bundles/{code}/apply", Authenticated, post(bundle_pages::apply_submit)),
        def("GET", "/me/bundles/{no}", Authenticated, get(bundle_pages::case_page)),
        def("POST", "/me/bundles/{no}/form", Authenticated, post(bundle_pages::save_form)),
        def(
            "POST",
            "/me/bundles/{no}/materials",
            Authenticated,
            post(bundle_pages::upload).layer(DefaultBodyLimit::max(cases::UPLOAD_BODY_LIMIT)),
        ),
        def("POST", "/me/bundles/{no}/commitments", Authenticated, post(bundle_pages::commit)),
        def("POST", "/me/bundles/{no}/submit", Authenticated, post(bundle_pages::submit)),
        def("POST", "/me/cases/{no}/form", Authenticated, post(application_pages::save_form)),
        def(
            "POST",
            "/me/cases/{no}/materials",
            Authenticated,
            post(application_pages::upload).layer(DefaultBodyLimit::max(cases::UPLOAD_BODY_LIMIT)),
        ),
        def("POST", "/me/cases/{no}/commitments", Authenticated, post(application_pages::commit)),
        def("POST", "/me/cases/{no}/submit", Authenticated, post(application_pages::submit)),
        def("POST", "/me/cases/{no}/rating", Authenticated, post(application_pages::rate_submit)),
        // 一窗受理: the comprehensive window console.
        def("GET", "/console/window", Staff(&[Role::WindowClerk]), get(application_pages::window_home)),
        def("GET", "/console/cases", Staff(cases::CASE_STAFF), get(workbench_pages::inbox)),
        def("GET", "/console/cases/{no}", Staff(cases::CASE_STAFF), get(workbench_pages::case_page)),
        def("POST", "/console/cases/{no}/events", Staff(cases::CASE_STAFF), post(workbench_pages::case_event)),
        def("POST", "/console/cases/{no}/shared-data", Staff(cases::CASE_HANDLERS), post(crate::shared_materials::refetch_page)),
        // 好差评 at the window's tablet, by an SMS link, by phone: staff invite, the token opens the form.
        def("POST", "/console/cases/{no}/rating-invitations", Staff(cases::CASE_HANDLERS), post(crate::rating_channels::invite)),
        def("GET", "/rate/{token}", Public, get(crate::rating_channels::rate_page)),
        def("POST", "/rate/{token}", Public, post(crate::rating_channels::rate_submit)),
        def("POST", "/console/window", Staff(&[Role::WindowClerk]), post(application_pages::window_open)),
        def("GET", "/console/window/cases/{no}", Staff(&[Role::WindowClerk]), get(application_pages::window_case)),
        def("POST", "/console/window/cases/{no}/events", Staff(&[Role::WindowClerk]), post(application_pages::window_event)),
        def("POST", "/console/window/bundles/{no}/accept", Staff(&[Role::WindowClerk]), post(application_pages::window_accept_bundle)),
        def("GET", "/cases/query", Public, get(case_pages::query_page)),
        def("GET", "/cases/{no}/receipt.pdf", Public, get(case_pages::receipt_pdf)),
        // The holder wallet and 加注件 shares (pages).
        def("GET", "/me/licenses", Authenticated, get(wallet::wallet_page)),
        def("GET", "/me/data-accesses", Authenticated, get(crate::sharing::my_accesses_page)),
        def("GET", "/me/licenses/{id}", Authenticated, get(wallet::license_page)),
        def("GET", "/me/licenses/{id}/license.pdf", Authenticated, get(wallet::license_pdf)),
        def("GET", "/me/licenses/{id}/sealed.json", Authenticated, get(wallet::sealed_json)),
        def("POST", "/me/licenses/{id}/shares", Authenticated, post(wallet::create_share)),
        def("POST", "/me/licenses/{id}/shares/{share}/revoke", Authenticated, post(wallet::revoke_share)),
        def("GET", "/licenses/shared/{token}", Public, get(wallet::shared_page)),
        def("GET", "/licenses/shared/{token}/copy.pdf", Public, get(wallet::shared_pdf)),
        def("GET", "/api/v1/license-types/{code}", Public, get(licenses::license_type)),
        def("PUT", "/api/v1/license-types/{code}", Staff(licenses::LICENSE_TYPE_EDITORS), put(licenses::define_type)),
        def("GET", "/api/v1/me/licenses", Authenticated, get(licenses::my_licenses)),
        def("GET", "/api/v1/me/data-accesses", Authenticated, get(crate::sharing::my_accesses)),
        def("GET", "/api/v1/me/items/{code}/licenses", Authenticated, get(licenses::my_item_licenses)),
        def("GET", "/api/v1/me/licenses/{id}/uses", Authenticated, get(licenses::my_license_uses)),
        // SD-JWT VC export (Ed25519; docs/license-format.md) and what verifiers of it fetch.
        def("GET", "/api/v1/me/licenses/{id}/sd-jwt", Authenticated, get(licenses::my_license_sd_jwt)),
        def("GET", "/api/v1/licenses/status-lists/{agency}", Public, get(licenses::status_list)),
        def("GET", "/.well-known/jwt-vc-issuer/agencies/{agency}", Public, get(licenses::vc_issuer_metadata)),
        // Identity API.
        def("GET", "/api/v1/me", Authenticated, get(identity_api::me)),
        def("GET", "/api/v1/accounts/{id}", Authenticated, get(identity_api::account)),
        def("GET", "/api/v1/enterprises/{uscc}", Authenticated, get(identity_api::enterprise)),
        def("POST", "/api/v1/enterprises/{uscc}/agents", Authenticated, post(identity_api::add_agent)),
        def("DELETE", "/api/v1/enterprises/{uscc}/agents/{account_id}", Authenticated, delete(identity_api::remove_agent)),
        def("GET", "/api/v1/agencies", Public, get(identity_api::agencies)),
        def("GET", "/api/v1/agencies/{uscc}/staff", Staff(&[Role::DepartmentHead, Role::Admin]), get(identity_api::agency_staff)),
        def("GET", "/api/v1/base/persons/{citizen_id}", Staff(STAFF_READERS), get(identity_api::base_person)),
        def("POST", "/api/v1/real-name/in-person", Staff(&[Role::WindowClerk]), post(identity_api::verify_in_person)),
        def("GET", "/api/v1/oidc/clients", Staff(ADMIN), get(identity_api::oidc_clients)),
        // Support access: administrators read an agency's cases only through a grant.
        def("POST", "/api/v1/support-grants", Staff(ADMIN), post(identity_api::grant_support)),
        def("GET", "/api/v1/support-grants", Staff(ADMIN), get(identity_api::support_grants)),
        def("DELETE", "/api/v1/support-grants/{id}", Staff(ADMIN), delete(identity_api::revoke_support)),
        // Item catalog: portal and public API.
        def("GET", "/items", Public, get(catalog_pages::items_page)),
        def("GET", "/items/{code}", Public, get(catalog_pages::guide_page)),
        def("GET", "/items/{code}/guide.pdf", Public, get(catalog::guide_pdf)),
        def("GET", "/static/htmx.min.js", Public, get(catalog_pages::htmx)),
        def("GET", "/api/v1/items", Public, get(catalog::search_api)),
        def("GET", "/api/v1/items/{code}", Public, get(catalog::item_api)),
        def("GET", "/api/v1/catalog/export", Public, get(catalog::export_api)),
        // Item catalog: staff API. Agency scope is checked per item.
        def("GET", "/api/v1/catalog/items", Staff(CATALOG_STAFF), get(catalog::list_api)),
        def("POST", "/api/v1/catalog/items", Staff(EDITOR), post(catalog::create_api)),
        def("PUT", "/api/v1/catalog/items/{code}/draft", Staff(EDITOR), put(catalog::save_api)),
        def("POST", "/api/v1/catalog/items/{code}/{action}", Staff(CATALOG_STAFF), post(catalog::action_api)),
        def("GET", "/api/v1/catalog/items/{code}/versions", Staff(CATALOG_STAFF), get(catalog::versions_api)),
        def("GET", "/api/v1/catalog/items/{code}/diff", Staff(CATALOG_STAFF), get(catalog::diff_api)),
        def("GET", "/api/v1/catalog/analysis", Staff(ANALYSIS_READERS), get(catalog::analysis_api)),
        // Item catalog: console.
        def("GET", "/console/catalog", Staff(CATALOG_STAFF), get(catalog_pages::console_list)),
        def("POST", "/console/catalog", Staff(EDITOR), post(catalog_pages::console_create)),
        def("GET", "/console/catalog/analysis", Staff(ANALYSIS_READERS), get(catalog_pages::console_analysis)),
        def("GET", "/console/catalog/{code}", Staff(CATALOG_STAFF), get(catalog_pages::console_item)),
        def("POST", "/console/catalog/{code}/action", Staff(CATALOG_STAFF), post(catalog_pages::console_action)),
        def("GET", "/console/catalog/{code}/edit", Staff(EDITOR), get(catalog_pages::console_edit_form)),
        def("POST", "/console/catalog/{code}/edit", Staff(EDITOR), post(catalog_pages::console_edit_save)),
        def("GET", "/console/catalog/{code}/diff", Staff(CATALOG_STAFF), get(catalog_pages::console_diff)),
        // Workflow: node administrators deploy; staff read; modelers and admins simulate.
        def("POST", "/api/v1/workflows", Staff(ADMIN), post(workflow::deploy_api)),
        def("POST", "/api/v1/workflows/simulate", Staff(workflow::SIMULATORS), post(workflow::simulate_api)),
        def("GET", "/api/v1/workflows/{process_id}", Staff(ANY_STAFF), get(workflow::definition_api)),
    ]
}

/// Every route with its policy (for documentation and the route × role test).
pub fn route_specs() -> Vec<RouteSpec> {
    table().into_iter().map(|d| d.spec).collect()
}

pub fn build(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for d in table() {
        let policy = RoutePolicy { access: d.spec.access, csrf: d.spec.csrf, machine: d.spec.machine };
        let guarded = d.handler.layer(middleware::from_fn_with_state((state.clone(), policy), enforce));
        router = router.route(d.spec.path, guarded);
    }
    router
}

/// For tests: the method as an `http::Method`.
pub fn method_of(spec: &RouteSpec) -> Method {
    Method::from_bytes(spec.method.as_bytes()).unwrap_or(Method::GET)
}
