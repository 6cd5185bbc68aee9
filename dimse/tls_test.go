package dimse_test

// DICOM TLS (PS3.15 B.1) between our client and server and DCMTK's tools, with certificates made
// at test time: a CA, a server certificate for 127.0.0.1 and localhost, a client certificate
// the CA signed and one from another CA.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/dimsetest"
)

// keyPair is a certificate and its key, in memory and as PEM files for DCMTK.
type keyPair struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	tls      tls.Certificate
	certFile string
	keyFile  string
}

// testPKI holds the certificates of the TLS tests.
type testPKI struct {
	ca, server, client, untrusted *keyPair
	caFile                        string
	pool                          *x509.CertPool
}

// issue makes a certificate for tmpl signed by parent (self-signed when parent is nil) and
// writes it and its key to dir.
func issue(t *testing.T, dir, name string, tmpl *x509.Certificate, parent *keyPair) *keyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64)); err != nil {
		t.Fatal(err)
	}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	kp := &keyPair{cert: cert, key: key, certFile: filepath.Join(dir, name+".pem"), keyFile: filepath.Join(dir, name+".key")}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	if err := os.WriteFile(kp.certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kp.keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if kp.tls, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	return kp
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	ca := func(name string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	}
	leaf := func(name string, usage x509.ExtKeyUsage) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: name}, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	}
	p := &testPKI{}
	p.ca = issue(t, dir, "ca", ca("Lightbox test CA"), nil)
	srv := leaf("localhost", x509.ExtKeyUsageServerAuth)
	srv.DNSNames = []string{"localhost"}
	srv.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	p.server = issue(t, dir, "server", srv, p.ca)
	p.client = issue(t, dir, "client", leaf("LIGHTBOX client", x509.ExtKeyUsageClientAuth), p.ca)
	other := issue(t, dir, "other-ca", ca("Another CA"), nil)
	p.untrusted = issue(t, dir, "untrusted", leaf("untrusted client", x509.ExtKeyUsageClientAuth), other)
	p.caFile = p.ca.certFile
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.ca.cert)
	return p
}

// serverTLS is the TLS configuration of our SCP; with mutual, clients must present a
// certificate our CA signed.
func (p *testPKI) serverTLS(mutual bool) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{p.server.tls}}
	if mutual {
		c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, p.pool
	}
	return c
}

// clientTLS is our client's TLS configuration, presenting kp when set.
func (p *testPKI) clientTLS(kp *keyPair) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.pool, ServerName: "127.0.0.1"}
	if kp != nil {
		c.Certificates = []tls.Certificate{kp.tls}
	}
	return c
}

// tlsFiles are the instances sent over TLS: a few syntaxes DCMTK sends unchanged.
func tlsFiles(t *testing.T) []corpusFile {
	var out []corpusFile
	for _, f := range qrCorpus(t) {
		if f.name != htj2kFile {
			out = append(out, f)
		}
	}
	return out[:4]
}

// dcmtkTLSArgs are the DCMTK options for TLS with kp's key and certificate (anonymous when nil),
// trusting our CA, in the given security profile (DCMTK's default when empty).
func (p *testPKI) dcmtkTLSArgs(kp *keyPair, profile string) []string {
	var args []string
	if kp == nil {
		args = []string{"+tla"}
	} else {
		args = []string{"+tls", kp.keyFile, kp.certFile, "-pw"}
	}
	args = append(args, "+cf", p.caFile)
	if profile != "" {
		args = append(args, profile)
	}
	return args
}

// TestTLSDCMTKToOurSCP: storescu and echoscu over TLS to our SCP, in DCMTK's default profile and
// the BCP 195 one, with a client certificate required.
func TestTLSDCMTKToOurSCP(t *testing.T) {
	needTool(t, "storescu")
	p := newPKI(t)
	files := tlsFiles(t)
	for _, profile := range []string{"", "+px"} {
		name := cmpOr(profile, "default")
		t.Run(name, func(t *testing.T) {
			scp := dimsetest.Start(t, "LIGHTBOX", func(s *dimse.Server) { s.TLSConfig = p.serverTLS(true) })
			host, port, _ := net.SplitHostPort(scp.Addr)
			out, err := runTool(t, "echoscu", append(p.dcmtkTLSArgs(p.client, profile), "-aec", "LIGHTBOX", host, port)...)
			if err != nil {
				t.Fatalf("echoscu over TLS: %v\n%s", err, out)
			}
			args := append(p.dcmtkTLSArgs(p.client, profile), "-aec", "LIGHTBOX", "-xf", storescuConfig(t, files), "Files", host, port)
			for _, f := range files {
				args = append(args, f.path)
			}
			if out, err := runTool(t, "storescu", args...); err != nil {
				t.Fatalf("storescu over TLS: %v\n%s", err, out)
			}
			for _, f := range files {
				in := scp.Instance(f.SOPInstanceUID)
				if in == nil || in.TransferSyntax != f.TransferSyntax || !bytes.Equal(in.Data, f.data) {
					t.Errorf("%s: not stored byte-identical over TLS", f.name)
				}
			}
		})
	}
}

// TestTLSClientCertificateRequired: with mutual TLS, DCMTK gets in with a certificate our CA
// signed, and not without one or with one from another CA.
func TestTLSClientCertificateRequired(t *testing.T) {
	p := newPKI(t)
	scp := dimsetest.Start(t, "LIGHTBOX", func(s *dimse.Server) { s.TLSConfig = p.serverTLS(true) })
	host, port, _ := net.SplitHostPort(scp.Addr)
	_, noEchoscu := exec.LookPath("echoscu")
	if noEchoscu != nil {
		t.Log("echoscu not installed: only our client is tried")
	}
	for _, c := range []struct {
		name string
		kp   *keyPair
		ok   bool
	}{{"trusted", p.client, true}, {"anonymous", nil, false}, {"untrusted", p.untrusted, false}} {
		if noEchoscu != nil {
			break
		}
		out, err := runTool(t, "echoscu", append(p.dcmtkTLSArgs(c.kp, ""), "-aec", "LIGHTBOX", host, port)...)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s client certificate refused: %v\n%s", c.name, err, out)
		case !c.ok && err == nil:
			t.Errorf("%s client accepted:\n%s", c.name, out)
		case !c.ok:
			t.Logf("%s client refused: %s", c.name, strings.TrimSpace(errorLines(out)))
		}
	}
	// The same with our client.
	for _, c := range []struct {
		name string
		kp   *keyPair
		ok   bool
	}{{"trusted", p.client, true}, {"anonymous", nil, false}, {"untrusted", p.untrusted, false}} {
		cl, err := dimse.Dial(ctxT(t), scp.Addr, dimse.DialOptions{CalledAE: "LIGHTBOX", TLSConfig: p.clientTLS(c.kp),
			Proposals: []dimse.Proposal{dimse.EchoProposal()}, Timeout: 10 * time.Second})
		if err == nil {
			err = cl.Echo(ctxT(t))
			cl.Close()
		}
		if (err == nil) != c.ok {
			t.Errorf("our client, %s certificate: %v", c.name, err)
		}
	}
}

// TestTLSOurClient: our client stores over TLS to our SCP and to DCMTK's storescp, and both keep
// the data sets byte for byte.
func TestTLSOurClient(t *testing.T) {
	p := newPKI(t)
	files := tlsFiles(t)
	t.Run("our SCP", func(t *testing.T) {
		scp := dimsetest.Start(t, "LIGHTBOX", func(s *dimse.Server) { s.TLSConfig = p.serverTLS(true) })
		if errs := storeAll(t, scp.Addr, "LIGHTBOX", files, dimse.DialOptions{TLSConfig: p.clientTLS(p.client)}); len(errs) > 0 {
			t.Fatal(errs)
		}
		for _, f := range files {
			in := scp.Instance(f.SOPInstanceUID)
			if in == nil || !bytes.Equal(in.Data, f.data) {
				t.Errorf("%s: not stored byte-identical over TLS", f.name)
			}
		}
	})
}

// TestTLSOurClientToDCMTK: our client stores over TLS to storescp in bit-preserving mode.
func TestTLSOurClientToDCMTK(t *testing.T) {
	needTool(t, "storescp")
	if !isolate(t) {
		return
	}
	p := newPKI(t)
	files := tlsFiles(t)
	for _, profile := range []string{"", "+px"} {
		t.Run(cmpOr(profile, "default"), func(t *testing.T) {
			port, dir := startStorescp(t, append(p.dcmtkTLSArgs(p.server, profile), "-xf", storescpConfig(t, files), "Files")...)
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			if errs := storeAll(t, addr, "STORESCP", files, dimse.DialOptions{TLSConfig: p.clientTLS(p.client)}); len(errs) > 0 {
				t.Fatal(errs)
			}
			got := readPart10Dir(t, dir)
			for _, f := range files {
				if r, ok := got[f.SOPInstanceUID]; !ok || r.ts != f.TransferSyntax || !bytes.Equal(r.data, f.data) {
					t.Errorf("%s: storescp did not record it byte-identical over TLS", f.name)
				}
			}
		})
	}
}

// TestTLSMismatch: a plain client on a TLS port and a TLS client on a plain port fail, promptly,
// and leave no goroutine behind (goleak checks in TestMain).
func TestTLSMismatch(t *testing.T) {
	p := newPKI(t)
	tlsSCP := dimsetest.Start(t, "LIGHTBOX", func(s *dimse.Server) { s.TLSConfig = p.serverTLS(false) })
	plainSCP := dimsetest.Start(t, "LIGHTBOX", nil)
	for _, c := range []struct {
		name, addr string
		tls        *tls.Config
	}{{"plain client, TLS server", tlsSCP.Addr, nil}, {"TLS client, plain server", plainSCP.Addr, p.clientTLS(p.client)}} {
		start := time.Now()
		cl, err := dimse.Dial(ctxT(t), c.addr, dimse.DialOptions{CalledAE: "LIGHTBOX", TLSConfig: c.tls,
			Proposals: []dimse.Proposal{dimse.EchoProposal()}, Timeout: 10 * time.Second})
		if err == nil {
			cl.Abort()
			t.Fatalf("%s: association established", c.name)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v to fail", c.name, d)
		}
		t.Logf("%s: %v", c.name, err)
	}
	// Both servers still serve their own kind.
	for _, c := range []struct {
		addr string
		tls  *tls.Config
	}{{tlsSCP.Addr, p.clientTLS(nil)}, {plainSCP.Addr, nil}} {
		cl, err := dimse.Dial(ctxT(t), c.addr, dimse.DialOptions{CalledAE: "LIGHTBOX", TLSConfig: c.tls, Proposals: []dimse.Proposal{dimse.EchoProposal()}})
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Echo(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		cl.Close()
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
