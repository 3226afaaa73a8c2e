package console

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, nil, view{page: "signin", title: "Sign in", data: ""})
}

// signin checks a pasted token and keeps it in an HttpOnly, SameSite=Strict
// session cookie that expires with the token.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r, credential{}) {
		s.fail(w, r, nil, &pageError{status: http.StatusForbidden, msg: "Refused: the sign-in did not come from this console."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 2*maxTokenBytes)
	if err := r.ParseForm(); err != nil {
		s.needSignin(w, r, "The sign-in form could not be read (too large or malformed).")
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	tok = strings.TrimPrefix(tok, "Bearer ")
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.PageTimeout)
	defer cancel()
	staff, err := s.verify(ctx, tok)
	if err != nil {
		msg := "The token was refused (invalid, expired, or not a staff token)."
		if errors.Is(err, ErrNoRole) {
			msg = "The token carries neither the ops nor the ops-pii role."
		}
		s.log.Info("console: sign-in refused", "reason", authReason(err))
		s.needSignin(w, r, msg)
		return
	}
	s.log.Info("console: signed in", "role", staff.Role())
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: int((12 * time.Hour).Seconds()),
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	cred, _ := credentialOf(r)
	if !sameOrigin(r, cred) {
		s.fail(w, r, nil, &pageError{status: http.StatusForbidden, msg: "Refused: the request did not come from a console page."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
