//! A standalone HTML page that draws a Vega-Lite specification with
//! vega-embed: offline, with the three bundles inlined (the caller reads them,
//! the core touches no file), or from a CDN only when asked.

use serde_json::Value;

/// The Vega-Lite version the charts are checked against (the schema test and
/// `scripts/lib/vega-lite-schema.sh` pin the same).
pub const VEGA_LITE_VERSION: &str = "5.23.0";
/// The Vega runtime version.
pub const VEGA_VERSION: &str = "5.32.0";
/// The vega-embed version.
pub const VEGA_EMBED_VERSION: &str = "6.29.0";

/// Where the page gets the Vega bundles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VegaScripts<'a> {
    /// Inlined in the page, which then opens offline: the contents of
    /// `vega/build/vega.min.js`, `vega-lite/build/vega-lite.min.js` and
    /// `vega-embed/build/vega-embed.min.js` from the npm packages.
    Inline {
        /// The Vega runtime.
        vega: &'a str,
        /// The Vega-Lite compiler.
        vega_lite: &'a str,
        /// vega-embed.
        vega_embed: &'a str,
    },
    /// `<script src>` tags pointing at jsDelivr, at the pinned versions: the
    /// page then needs the network.
    Cdn,
}

fn escape_html(s: &str) -> String {
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

/// Script text made safe inside `<script>`: no `</script` (or `<!--`) can end it early.
fn escape_script(js: &str) -> String {
    js.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT").replace("<!--", "<\\!--")
}

/// JSON safe inside `<script>`: `<`, `>`, `&` and the JS line separators as `\u` escapes.
fn json_for_script(spec: &Value) -> String {
    let s = serde_json::to_string(spec).unwrap_or_else(|_| "{}".to_owned());
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A standalone page drawing `spec` (SVG renderer). When drawn, the `<body>`
/// gets `data-rendered="true"`; on an error, the page shows it and the body
/// gets `data-error`.
pub fn standalone_html(spec: &Value, title: &str, scripts: &VegaScripts<'_>) -> String {
    let mut head = String::new();
    match scripts {
        VegaScripts::Inline { vega, vega_lite, vega_embed } => {
            for js in [vega, vega_lite, vega_embed] {
                head.push_str("<script>");
                head.push_str(&escape_script(js));
                head.push_str("</script>\n");
            }
        }
        VegaScripts::Cdn => {
            for (name, version) in [("vega", VEGA_VERSION), ("vega-lite", VEGA_LITE_VERSION), ("vega-embed", VEGA_EMBED_VERSION)] {
                head.push_str(&format!("<script src=\"https://cdn.jsdelivr.net/npm/{name}@{version}\"></script>\n"));
            }
        }
    }
    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 24px; background: #ffffff; }} #error {{ color: #b00020; white-space: pre-wrap; }}</style>
{head}</head>
<body>
<div id="vis"></div>
<div id="error"></div>
<script>
(function () {{
  var spec = {spec};
  function fail(e) {{
    document.getElementById("error").textContent = "Could not draw the chart: " + e;
    document.body.setAttribute("data-error", String(e));
  }}
  if (typeof vegaEmbed !== "function") {{ fail("vega-embed is not loaded"); return; }}
  vegaEmbed("#vis", spec, {{renderer: "svg", actions: false}})
    .then(function () {{ document.body.setAttribute("data-rendered", "true"); }})
    .catch(fail);
}})();
</script>
</body>
</html>
"##,
        title = escape_html(title),
        spec = json_for_script(spec),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_what_could_end_a_script() {
        let spec = json!({"title": "</script><b>x</b> & \u{2028}"});
        let page = standalone_html(&spec, "a <b>", &VegaScripts::Inline { vega: "var a = '</script>';", vega_lite: "", vega_embed: "" });
        assert!(!page.contains("</script><b>"));
        assert!(page.contains("\\u003c/script\\u003e"));
        assert!(page.contains("<title>a &lt;b&gt;</title>"));
        assert!(page.contains("var a = '<\\/script>';"));
        assert!(!page.contains("cdn.jsdelivr"));
        let cdn = standalone_html(&spec, "t", &VegaScripts::Cdn);
        assert!(cdn.contains("https://cdn.jsdelivr.net/npm/vega-lite@5.23.0"));
    }
}
