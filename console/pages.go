package console

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/frontdesk-chat/frontdesk/bot"
)

//go:embed static
var staticFS embed.FS

var templates = template.Must(template.ParseFS(staticFS, "static/*.html"))

// securityHeaders keep the console's pages from being framed or loading
// anything but their own scripts.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

func (c *Console) render(w http.ResponseWriter, status int, name string, data any) {
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := templates.ExecuteTemplate(w, name, data); err != nil {
		c.log.Error("render page", "page", name, "err", err)
	}
}

// page wraps an HTML handler: signed-out visitors go to the login page and
// form posts need the session's CSRF token.
func (c *Console) page(h func(http.ResponseWriter, *http.Request, *principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		p, err := c.sessionFrom(r)
		if errors.Is(err, errUnauthenticated) {
			http.Redirect(w, r, "/agent/login", http.StatusSeeOther)
			return
		}
		if err != nil {
			c.log.Error("console session", "err", err)
			http.Error(w, bot.ErrorMessage(err), http.StatusInternalServerError)
			return
		}
		if isWrite(r.Method) {
			if err := c.checkCSRF(r, p); err != nil {
				http.Error(w, "This form has expired or came from another site. Reload the console and try again.", http.StatusForbidden)
				return
			}
		}
		h(w, r, p)
	}
}

type loginData struct {
	Error string
	ID    string
}

func (c *Console) serveLoginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := c.sessionFrom(r); err == nil {
		http.Redirect(w, r, "/agent", http.StatusSeeOther)
		return
	}
	c.render(w, http.StatusOK, "login.html", loginData{})
}

func (c *Console) serveLoginForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if !c.sameOrigin(r) {
		c.render(w, http.StatusForbidden, "login.html", loginData{Error: "Sign in from the console's own address."})
		return
	}
	id, pw := r.PostFormValue("id"), r.PostFormValue("password")
	_, sid, _, err := c.login(r, id, pw)
	if err != nil {
		code := bot.ErrorCode(err)
		if code == bot.ECodeInternal {
			c.log.Error("agent login", "err", err)
		}
		c.render(w, statusOf(code), "login.html", loginData{Error: bot.ErrorMessage(err), ID: id})
		return
	}
	c.setSessionCookie(w, r, sid, int(c.cfg.SessionTTL.Seconds()))
	http.Redirect(w, r, "/agent", http.StatusSeeOther)
}

func (c *Console) serveLogoutForm(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := c.logout(r.Context(), p); err != nil {
		c.log.Error("agent logout", "err", err)
	}
	c.setSessionCookie(w, r, "", -1)
	http.Redirect(w, r, "/agent/login", http.StatusSeeOther)
}

type consoleData struct {
	Agent AgentJSON
	CSRF  string
	Admin bool
}

func (c *Console) serveConsole(w http.ResponseWriter, r *http.Request, p *principal) {
	c.render(w, http.StatusOK, "console.html", consoleData{
		Agent: AgentJSON{ID: p.acc.ID, Name: p.acc.Name, Role: p.acc.Role, Online: true},
		CSRF:  p.session.CSRF, Admin: p.admin(),
	})
}

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if strings.HasSuffix(name, ".html") || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	securityHeaders(w)
	w.Header().Set("Cache-Control", "no-cache")
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		w.Header().Set("Content-Type", t)
	}
	_, _ = w.Write(data)
}
