package worker

import (
	"net/url"
	"strings"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
)

// checkCallbackURLs refuses a session command whose URLs would send
// Praxis' signed webhooks, validation decisions or the customer somewhere
// the merchant did not configure: whoever can publish a command must not
// be able to harvest signed webhooks on a server of theirs. It runs after
// the defaults are filled (those always pass). notification_url and
// validation_url must be under ingress.public_url, or https and under one
// of the application's allowed_callback_urls; return_url must be the
// application's return_url, or https and under one of its
// allowed_return_urls. A non-empty answer is the invalid result's reason.
func (w *Worker) checkCallbackURLs(app *appState, s *command.Session) string {
	callbacks := append([]string{w.cfg.PublicURL}, app.AllowedCallbackURLs...)
	for _, f := range []struct{ name, v string }{{"notification_url", s.NotificationURL}, {"validation_url", s.ValidationURL}} {
		if f.v != "" && !underAny(f.v, callbacks, w.cfg.PublicURL) {
			return f.name + " is not under ingress.public_url nor an https URL under the application's allowed_callback_urls"
		}
	}
	return checkReturnURL(app, "return_url", s.ReturnURL)
}

// checkReturnURL refuses a URL the customer is sent back to that is
// neither the application's return_url nor https under one of its
// allowed_return_urls ("" when fine); name is the command's field.
func checkReturnURL(app *appState, name, v string) string {
	if v != "" && v != app.ReturnURL && !underAny(v, app.AllowedReturnURLs, "") {
		return name + " is not the application's return_url nor an https URL under its allowed_return_urls"
	}
	return ""
}

// underAny reports whether raw is under one of the prefixes; only the
// trusted prefix (the configured public URL) may be other than https.
func underAny(raw string, prefixes []string, trusted string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Host == "" {
		return false
	}
	for _, p := range prefixes {
		if p == "" {
			continue
		}
		if u.Scheme != "https" && p != trusted {
			continue
		}
		if under(u, p) {
			return true
		}
	}
	return false
}

// under reports whether u has prefix's scheme and host and a path at or
// below prefix's path (at a segment boundary).
func under(u *url.URL, prefix string) bool {
	p, err := url.Parse(prefix)
	if err != nil || p.Host == "" {
		return false
	}
	if !strings.EqualFold(u.Scheme, p.Scheme) || !strings.EqualFold(u.Host, p.Host) {
		return false
	}
	base := strings.TrimSuffix(p.EscapedPath(), "/")
	path := u.EscapedPath()
	if strings.Contains(path, "/../") || strings.HasSuffix(path, "/..") || strings.Contains(strings.ToLower(path), "%2e") {
		return false
	}
	return path == base || strings.HasPrefix(path, base+"/")
}
