package sqlite

import "testing"

func TestFileURI(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/a#1/index.db":  "file:/tmp/a%231/index.db",
		"/srv/p?x/index.db":  "file:/srv/p%3Fx/index.db",
		"rel/dir/index.db":   "file:rel/dir/index.db",
		"/tmp/100%/index.db": "file:/tmp/100%25/index.db",
	} {
		if got := fileURI(in); got != want {
			t.Errorf("fileURI(%q) = %q, want %q", in, got, want)
		}
	}
}
