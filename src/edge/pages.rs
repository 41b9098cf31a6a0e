//! The edge's HTML: small server-rendered pages that work without JavaScript (plain forms),
//! with labels, one heading per page, visible focus and the page language set, in Dutch and
//! English. Everything the page shows from data is HTML-escaped.

use super::prefs::Preferences;

/// How a page looks: its language and the profile's accent colour (validated `#rrggbb`).
#[derive(Clone, Debug)]
pub struct Look {
    pub lang: Lang,
    pub color: Option<String>,
}

/// The languages the pages speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Nl,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }

    /// The first of `nl` and `en` the `Accept-Language` header asks for (by q-value), else
    /// `fallback`.
    pub fn negotiate(accept_language: Option<&str>, fallback: Lang) -> Lang {
        let Some(header) = accept_language else { return fallback };
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',').take(16) {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("nl") => Lang::Nl,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(fallback, |(_, l)| l)
    }
}

/// Every text of the pages.
pub struct Texts {
    pub unsubscribe_title: &'static str,
    pub unsubscribe_intro: &'static str,
    pub unsubscribe_button: &'static str,
    pub unsubscribed_title: &'static str,
    pub unsubscribed_body: &'static str,
    pub confirm_title: &'static str,
    pub confirm_intro: &'static str,
    pub confirm_button: &'static str,
    pub confirmed_title: &'static str,
    pub confirmed_body: &'static str,
    pub prefs_title: &'static str,
    pub prefs_intro: &'static str,
    pub prefs_save: &'static str,
    pub prefs_all_off: &'static str,
    pub prefs_saved: &'static str,
    pub pending: &'static str,
    pub manage: &'static str,
    pub invalid_title: &'static str,
    pub invalid_body: &'static str,
    pub expired_title: &'static str,
    pub expired_body: &'static str,
    pub used_title: &'static str,
    pub used_body: &'static str,
    pub busy_title: &'static str,
    pub busy_body: &'static str,
    pub error_title: &'static str,
    pub error_body: &'static str,
}

const EN: Texts = Texts {
    unsubscribe_title: "Unsubscribe",
    unsubscribe_intro: "You will no longer receive these messages from",
    unsubscribe_button: "Unsubscribe",
    unsubscribed_title: "You are unsubscribed",
    unsubscribed_body: "You will no longer receive these messages.",
    confirm_title: "Confirm your subscription",
    confirm_intro: "Please confirm that you want to receive these messages.",
    confirm_button: "Confirm",
    confirmed_title: "Thank you",
    confirmed_body: "Your subscription is confirmed.",
    prefs_title: "Your preferences",
    prefs_intro: "Choose which messages you want to receive from",
    prefs_save: "Save preferences",
    prefs_all_off: "Unsubscribe from all commercial messages",
    prefs_saved: "Your preferences are saved.",
    pending: "waiting for your confirmation",
    manage: "Manage all your preferences",
    invalid_title: "This link is not valid",
    invalid_body: "The link may be incomplete. Please use the link from the message exactly as it was sent.",
    expired_title: "This link has expired",
    expired_body: "Please use the link in a more recent message.",
    used_title: "Already done",
    used_body: "This link was used already, or a newer choice replaced it.",
    busy_title: "Too many requests",
    busy_body: "Please wait a moment and try again.",
    error_title: "Something went wrong",
    error_body: "Your choice was not saved. Please try again later.",
};

const NL: Texts = Texts {
    unsubscribe_title: "Afmelden",
    unsubscribe_intro: "U ontvangt deze berichten niet meer van",
    unsubscribe_button: "Afmelden",
    unsubscribed_title: "U bent afgemeld",
    unsubscribed_body: "U ontvangt deze berichten niet meer.",
    confirm_title: "Bevestig uw inschrijving",
    confirm_intro: "Bevestig dat u deze berichten wilt ontvangen.",
    confirm_button: "Bevestigen",
    confirmed_title: "Dank u wel",
    confirmed_body: "Uw inschrijving is bevestigd.",
    prefs_title: "Uw voorkeuren",
    prefs_intro: "Kies welke berichten u wilt ontvangen van",
    prefs_save: "Voorkeuren opslaan",
    prefs_all_off: "Afmelden voor alle commerciële berichten",
    prefs_saved: "Uw voorkeuren zijn opgeslagen.",
    pending: "wacht op uw bevestiging",
    manage: "Al uw voorkeuren beheren",
    invalid_title: "Deze link is niet geldig",
    invalid_body: "De link is misschien onvolledig. Gebruik de link uit het bericht precies zoals hij is verstuurd.",
    expired_title: "Deze link is verlopen",
    expired_body: "Gebruik de link in een recenter bericht.",
    used_title: "Al gedaan",
    used_body: "Deze link is al gebruikt, of een nieuwere keuze heeft hem vervangen.",
    busy_title: "Te veel verzoeken",
    busy_body: "Wacht even en probeer het opnieuw.",
    error_title: "Er ging iets mis",
    error_body: "Uw keuze is niet opgeslagen. Probeer het later opnieuw.",
};

pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::En => &EN,
        Lang::Nl => &NL,
    }
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;\
color:#1f2937;line-height:1.5}h1{font-size:1.5rem}button{font:inherit;padding:.6rem 1.2rem;border:0;\
border-radius:.4rem;background:var(--brand);color:#fff;cursor:pointer}button.secondary{background:#4b5563}\
button:focus,input:focus,a:focus{outline:3px solid #f59e0b;outline-offset:2px}fieldset{border:1px solid #d1d5db;\
border-radius:.4rem;margin:1rem 0}label{display:block;padding:.3rem 0}.topic{margin-left:1.6rem}\
.note{color:#4b5563;font-size:.9rem}";

/// A whole page: `title` as `<title>` and `<h1>`, `body` already escaped HTML.
pub fn page(look: &Look, title: &str, body: &str) -> String {
    // The colour was checked to be `#` and six hex digits when the profile was saved.
    let color = look.color.as_deref().filter(|c| c.len() == 7 && c[1..].bytes().all(|b| b.is_ascii_hexdigit()));
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{t}</title><style>:root{{--brand:{}}}{STYLE}</style></head>\
         <body><main><h1>{t}</h1>{body}</main></body></html>",
        look.lang.code(),
        color.unwrap_or("#1d4ed8"),
        t = escape(title),
    )
}

pub fn message(look: &Look, title: &str, text: &str) -> String {
    page(look, title, &format!("<p>{}</p>", escape(text)))
}

/// A page with one button that POSTs `fields` to `action`.
pub fn one_button(
    look: &Look,
    title: &str,
    intro: &str,
    action: &str,
    fields: &[(&str, &str)],
    button: &str,
) -> String {
    let hidden: String = fields
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v)))
        .collect();
    page(
        look,
        title,
        &format!(
            "<p>{}</p><form method=\"post\" action=\"{}\">{hidden}<button type=\"submit\">{}</button></form>",
            escape(intro),
            escape(action),
            escape(button)
        ),
    )
}

/// The preference center: one checkbox per purpose and topic, a save button and an
/// "unsubscribe from all commercial messages" button.
pub fn preferences(look: &Look, p: &Preferences, action: &str, form_token: &str, saved: bool) -> String {
    let t = texts(look.lang);
    let mut rows = String::new();
    for (i, item) in p.items.iter().enumerate() {
        let class = if item.topic_id.is_empty() { "purpose" } else { "topic" };
        let pending = if item.status == "pending" {
            format!(" <span class=\"note\">({})</span>", t.pending)
        } else {
            String::new()
        };
        rows.push_str(&format!(
            "<label class=\"{class}\" for=\"item{i}\"><input type=\"checkbox\" id=\"item{i}\" name=\"on\" value=\"{}\"{}> {}{pending}</label>",
            escape(&format!("{}/{}", item.purpose_id, item.topic_id)),
            if item.subscribed { " checked" } else { "" },
            escape(&item.name),
        ));
    }
    let saved = if saved { format!("<p role=\"status\">{}</p>", escape(t.prefs_saved)) } else { String::new() };
    page(
        look,
        t.prefs_title,
        &format!(
            "{saved}<p>{} {}.</p><form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"form_token\" value=\"{}\">\
             <fieldset><legend>{}</legend>{rows}</fieldset>\
             <p><button type=\"submit\" name=\"do\" value=\"save\">{}</button></p>\
             <p><button type=\"submit\" class=\"secondary\" name=\"do\" value=\"all_off\">{}</button></p></form>",
            escape(t.prefs_intro),
            escape(&p.profile_name),
            escape(action),
            escape(form_token),
            escape(&p.profile_name),
            escape(t.prefs_save),
            escape(t.prefs_all_off),
        ),
    )
}
