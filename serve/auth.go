package serve

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Scopes a token may carry.
const (
	ScopeScores    = "scores:read"
	ScopeCustomers = "customers:read"
	ScopePredict   = "predict"
	ScopeAdmin     = "admin"
)

// Scopes lists the scopes in documentation order.
var Scopes = []string{ScopeScores, ScopeCustomers, ScopePredict, ScopeAdmin}

// Token is one bearer token and its scopes. Only the token's SHA-256 is
// kept; tokens are compared in constant time and never logged.
type Token struct {
	sum    [32]byte
	scopes []string
}

// NewToken returns a token granting scopes; it refuses a token shorter
// than 16 bytes or with spaces, and an unknown scope.
func NewToken(secret string, scopes ...string) (Token, error) {
	if len(secret) < 16 || strings.ContainsAny(secret, " \t\r\n") {
		return Token{}, fmt.Errorf("a token needs at least 16 characters and no spaces")
	}
	if len(scopes) == 0 {
		return Token{}, fmt.Errorf("a token needs a scope (%s)", strings.Join(Scopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return Token{}, fmt.Errorf("unknown scope %q (want %s)", s, strings.Join(Scopes, ", "))
		}
	}
	return Token{sum: sha256.Sum256([]byte(secret)), scopes: slices.Clone(scopes)}, nil
}

// ParseTokens reads token lines, "TOKEN SCOPE[,SCOPE...]", skipping blank
// lines and '#' comments. An error names source and the line, never the
// token.
func ParseTokens(r io.Reader, source string) ([]Token, error) {
	var out []Token
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want TOKEN SCOPE[,SCOPE...]", source, n)
		}
		t, err := NewToken(f[0], strings.Split(f[1], ",")...)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", source, n, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return out, nil
}

// ReadTokenFile reads a tokens file (ParseTokens), refusing one that its
// group or others may read: tokens are secrets.
func ReadTokenFile(name string) ([]Token, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %v lets others read the tokens: chmod 600 %s", name, fi.Mode().Perm(), name)
	}
	return ParseTokens(f, name)
}

// authorize returns the scopes of the request's bearer token, and whether
// it carried one that matched. Every token is compared (in constant
// time), so the time taken says nothing of which one matched.
func authorize(tokens []Token, header string) (scopes []string, ok bool) {
	secret, found := strings.CutPrefix(header, "Bearer ")
	if !found || secret == "" {
		return nil, false
	}
	var buf [64]byte // most tokens fit: no allocation per request
	sum := sha256.Sum256(append(buf[:0], secret...))
	for _, t := range tokens {
		if subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 {
			scopes, ok = t.scopes, true
		}
	}
	return scopes, ok
}
