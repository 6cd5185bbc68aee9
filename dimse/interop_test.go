package dimse_test

// Interoperability with real peers: the DCMTK command-line tools and Orthanc, each as SCU and as
// SCP against our client and server. Every transfer is checked byte for byte: the data set a peer
// stores or sends back must be the very bytes of the file it came from.
//
// DCMTK's and Orthanc's SCPs cannot be told to listen on loopback only, so the tests that start
// one run inside a private network namespace where loopback is the only interface: the test
// binary re-executes itself there with unshare (see isolate).

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/dimsetest"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/netnstest"
)

// toolTimeout bounds every external process.
const toolTimeout = 30 * time.Second

// needTool returns the path of an external program or skips the test.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (scripts/install-deps.sh installs it): skipping", name)
	}
	return p
}

// toolCmd prepares an external program bounded by toolTimeout and the test. DCMTK keeps Nagle's
// algorithm on unless TCP_NODELAY=1 is set, which costs 40 ms per small PDU.
func toolCmd(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, needTool(t, name), args...)
	cmd.Env = append(os.Environ(), "TCP_NODELAY=1")
	// Some tools write where they run whatever their options say (movescu +B ignores -od).
	cmd.Dir = t.TempDir()
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// runTool runs an external program to completion and returns its combined output.
func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, err := toolCmd(t, name, args...).CombinedOutput()
	return string(out), err
}

// startTool starts a long-running external program (an SCP) whose output goes to the test log
// when the test fails; it is killed, by its PID, when the test ends.
func startTool(t *testing.T, name string, args ...string) *exec.Cmd {
	cmd, _ := startToolOutput(t, name, args...)
	return cmd
}

// startToolOutput is startTool that also returns the program's output so far.
func startToolOutput(t *testing.T, name string, args ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	cmd := toolCmd(t, name, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return cmd, out
}

// lockedBuffer is a bytes.Buffer safe for the goroutines exec uses to copy output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitPort waits until something accepts connections on 127.0.0.1:port, or fails the test.
func waitPort(t *testing.T, port int, cmd *exec.Cmd) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		if cmd != nil && cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// isolate runs the calling top-level test inside a private network namespace (netnstest).
func isolate(t *testing.T) bool {
	t.Helper()
	return netnstest.Isolate(t, netnstest.Options{})
}

// corpusFile is a corpus file that can be sent: its identity and its data set bytes.
type corpusFile struct {
	name string
	path string
	dimse.StoreRequest
	data []byte
	// datasetUID is the SOP Instance UID of the data set, which a few files have different from
	// their File Meta's; senders may use either.
	datasetUID string
}

// uids returns the SOP Instance UIDs a sender may give the file.
func (f corpusFile) uids() []string {
	if f.datasetUID != "" && f.datasetUID != f.SOPInstanceUID {
		return []string{f.SOPInstanceUID, f.datasetUID}
	}
	return []string{f.SOPInstanceUID}
}

// sendableCorpus returns the corpus files that are not marked malformed and that carry what
// C-STORE needs, in manifest order.
func sendableCorpus(t *testing.T) []corpusFile {
	t.Helper()
	dir, rows := corpustest.Manifest(t)
	var out []corpusFile
	var skipped []string
	for _, r := range rows {
		if r.Malformed() {
			continue
		}
		f, err := openCorpusFile(t, corpustest.Path(dir, r.File()))
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		out = append(out, f)
	}
	if len(skipped) > 0 {
		t.Logf("%d corpus files are not storable instances:\n%s", len(skipped), strings.Join(skipped, "\n"))
	}
	return out
}

// openCorpusFile reads one corpus file as something to send.
func openCorpusFile(t *testing.T, path string) (corpusFile, error) {
	t.Helper()
	fi, err := dimse.OpenFile(path)
	if err != nil {
		return corpusFile{}, err
	}
	fi.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := dicom.Parse(raw, dicom.ReadOptions{StopAt: tag.New(0x0008, 0x0019)})
	if err != nil {
		return corpusFile{}, fmt.Errorf("%s: %w", path, err)
	}
	cf := corpusFile{name: filepath.Base(path), path: path, StoreRequest: fi.StoreRequest, data: raw[f.DatasetOffset:],
		datasetUID: f.Dataset.String(tag.SOPInstanceUID)}
	cf.Data = nil
	return cf, nil
}

// rounds splits files into groups in which every SOP Instance UID occurs once (the corpus holds
// several encodings of the same instance).
func rounds(files []corpusFile) [][]corpusFile {
	var out [][]corpusFile
	var seen []map[string]bool
	for _, f := range files {
		i := 0
		for ; i < len(out); i++ {
			if !slices.ContainsFunc(f.uids(), func(u string) bool { return seen[i][u] }) {
				break
			}
		}
		if i == len(out) {
			out = append(out, nil)
			seen = append(seen, map[string]bool{})
		}
		out[i] = append(out[i], f)
		for _, u := range f.uids() {
			seen[i][u] = true
		}
	}
	return out
}

// dcmtkUnknown are the transfer syntaxes of the corpus DCMTK 3.6.7 does not know: offered them
// in its configuration, it accepts the context and then aborts on the data set.
var dcmtkUnknown = map[string]bool{
	"1.2.840.10008.1.2.4.110": true, "1.2.840.10008.1.2.4.111": true, "1.2.840.10008.1.2.4.112": true, // JPEG XL
	"1.2.840.10008.1.2.4.201": true, "1.2.840.10008.1.2.4.202": true, "1.2.840.10008.1.2.4.203": true, // HTJ2K
}

// storescpConfig writes a storescp association profile "Files" that accepts the SOP classes of
// files in every transfer syntax they use (and the native ones), Explicit VR Little Endian
// preferred as our server prefers it.
func storescpConfig(t *testing.T, files []corpusFile) string {
	t.Helper()
	tss := []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian, dicom.ExplicitVRBigEndian}
	var classes []string
	for _, f := range files {
		if !slices.Contains(tss, f.TransferSyntax) && !dcmtkUnknown[f.TransferSyntax] {
			tss = append(tss, f.TransferSyntax)
		}
		if !slices.Contains(classes, f.SOPClassUID) {
			classes = append(classes, f.SOPClassUID)
		}
	}
	var b strings.Builder
	b.WriteString("[[TransferSyntaxes]]\n[All]\n")
	for i, ts := range tss {
		fmt.Fprintf(&b, "TransferSyntax%d = %s\n", i+1, ts)
	}
	b.WriteString("[[PresentationContexts]]\n[Files]\n")
	for i, c := range classes {
		fmt.Fprintf(&b, "PresentationContext%d = %s\\All\n", i+1, c)
	}
	b.WriteString("[[Profiles]]\n[Files]\nPresentationContexts = Files\n")
	p := filepath.Join(t.TempDir(), "storescp.cfg")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// storescuConfig writes a storescu association profile "Files" that proposes each (SOP class,
// transfer syntax) pair of files in a context of its own, so that every file can go as stored.
func storescuConfig(t *testing.T, files []corpusFile) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("[[TransferSyntaxes]]\n")
	tsIndex := map[string]int{}
	var tss []string
	for _, f := range files {
		if _, ok := tsIndex[f.TransferSyntax]; !ok {
			tsIndex[f.TransferSyntax] = len(tss)
			tss = append(tss, f.TransferSyntax)
		}
	}
	for i, ts := range tss {
		fmt.Fprintf(&b, "[TS%d]\nTransferSyntax1 = %s\n", i, ts)
	}
	b.WriteString("[[PresentationContexts]]\n[Files]\n")
	seen := map[string]bool{}
	n := 0
	for _, f := range files {
		k := f.SOPClassUID + "\\TS" + strconv.Itoa(tsIndex[f.TransferSyntax])
		if !seen[k] {
			seen[k] = true
			n++
			fmt.Fprintf(&b, "PresentationContext%d = %s\n", n, k)
		}
	}
	if n > 128 {
		t.Fatalf("%d presentation contexts needed, more than one association holds", n)
	}
	b.WriteString("[[Profiles]]\n[Files]\nPresentationContexts = Files\n")
	p := filepath.Join(t.TempDir(), "storescu.cfg")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// received is an instance a peer stored: its transfer syntax and data set bytes.
type received struct {
	file, ts string
	data     []byte
}

// readPart10Dir reads the Part 10 files a peer wrote into dir, by SOP Instance UID.
func readPart10Dir(t *testing.T, dir string) map[string]received {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]received{}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := dicom.Parse(raw, dicom.ReadOptions{StopAt: tag.New(0x0008, 0x0019)})
		if err != nil || f.Meta == nil {
			t.Errorf("%s wrote %s, which we cannot read: %v", filepath.Base(dir), e.Name(), err)
			continue
		}
		u := strings.TrimRight(f.Meta.String(tag.MediaStorageSOPInstanceUID), "\x00 ")
		out[u] = received{file: e.Name(), ts: f.Syntax.UID, data: raw[f.DatasetOffset:]}
	}
	return out
}

// startStorescp starts DCMTK's storescp in bit-preserving mode (it writes each data set exactly
// as it came off the wire) on a free port, with extra options, and returns the port and the
// directory it writes into. It listens on every interface: only for isolated tests.
func startStorescp(t *testing.T, extra ...string) (int, string) {
	port, dir, _ := startStorescpOutput(t, extra...)
	return port, dir
}

// startStorescpOutput is startStorescp that also returns storescp's output.
func startStorescpOutput(t *testing.T, extra ...string) (int, string, *lockedBuffer) {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	args := append([]string{"+B", "-od", dir}, extra...)
	cmd, out := startToolOutput(t, "storescp", append(args, strconv.Itoa(port))...)
	waitPort(t, port, cmd)
	return port, dir, out
}

// errorLines returns the error lines of a DCMTK tool's output, joined.
func errorLines(out string) string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if (strings.HasPrefix(l, "E: ") || strings.HasPrefix(l, "F: ")) && !slices.Contains(ls, l) {
			ls = append(ls, l)
		}
	}
	return strings.Join(ls, "; ")
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// sendReasons maps each file a DCMTK sender named in its output to the error lines that follow
// it ("Sending file: F" in storescu's verbose output) or that mention it (dcmsend).
func sendReasons(out string) map[string]string {
	reasons := map[string]string{}
	current := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if f, ok := strings.CutPrefix(l, "I: Sending file: "); ok {
			current = filepath.Base(f)
			continue
		}
		if !strings.HasPrefix(l, "E: ") {
			continue
		}
		for _, w := range strings.Fields(l) {
			if strings.Contains(w, string(filepath.Separator)) && strings.HasSuffix(strings.TrimRight(w, ":,"), ".dcm") {
				n := filepath.Base(strings.TrimRight(w, ":,"))
				reasons[n] = strings.TrimSpace(reasons[n] + " " + l)
				goto next
			}
		}
		if current != "" {
			reasons[current] = strings.TrimSpace(reasons[current] + " " + l)
		}
	next:
	}
	return reasons
}

// dcmsendReport reads the statuses of dcmsend's transfer report (+crf), by file name.
func dcmsendReport(path string) map[string]string {
	raw, _ := os.ReadFile(path)
	out := map[string]string{}
	file := ""
	for _, l := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "Filename":
			file = filepath.Base(v)
		case "DIMSE Status", "Network Xfer":
			if file != "" {
				out[file] = strings.TrimSpace(out[file] + " " + k + ": " + v)
			}
		}
	}
	return out
}

func TestDCMTKEchoSCU(t *testing.T) {
	needTool(t, "echoscu")
	scp := dimsetest.Start(t, "LIGHTBOX", nil)
	host, port, _ := net.SplitHostPort(scp.Addr)
	out, err := runTool(t, "echoscu", "-v", "-aec", "LIGHTBOX", host, port)
	if err != nil {
		t.Fatalf("echoscu: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Received Echo Response (Success)") {
		t.Fatalf("echoscu did not report success:\n%s", out)
	}
	// A wrong called AE title is rejected.
	out, err = runTool(t, "echoscu", "-aec", "WRONG", host, port)
	if err == nil || !strings.Contains(out, "Called AE Title Not Recognized") {
		t.Fatalf("echoscu to a wrong AE title: %v\n%s", err, out)
	}
}

// TestDCMTKStoreSCU sends every storable corpus file with storescu and dcmsend, each proposing
// the file's own transfer syntax, both to our SCP and to DCMTK's storescp in bit-preserving mode,
// and checks that our SCP stored exactly the bytes storescp recorded. DCMTK parses each file and
// encodes it again for the wire, so what arrives is not always the file's data set byte for byte
// (trailing padding dropped, lengths recomputed, big endian converted): storescp is the oracle
// for what was sent, and the file itself where DCMTK sent it unchanged.
func TestDCMTKStoreSCU(t *testing.T) {
	needTool(t, "storescp")
	if !isolate(t) {
		return
	}
	storable := map[string]bool{}
	for _, c := range dimse.StorageSOPClasses() {
		storable[c] = true
	}
	var files []corpusFile
	for _, f := range sendableCorpus(t) {
		if !storable[f.SOPClassUID] {
			t.Logf("left out %s: %s is not a storage SOP class the test SCP serves (retired or private)", f.name, uid.Name(f.SOPClassUID))
			continue
		}
		files = append(files, f)
	}
	for _, tool := range []string{"storescu", "dcmsend"} {
		t.Run(tool, func(t *testing.T) {
			needTool(t, tool)
			verbatim, reencoded, refused := 0, 0, 0
			for _, round := range rounds(files) {
				scp := dimsetest.Start(t, "LIGHTBOX", nil)
				host, port, _ := net.SplitHostPort(scp.Addr)
				refPort, refDir := startStorescp(t, "-xf", storescpConfig(t, round), "Files")
				report := filepath.Join(t.TempDir(), "report.txt")
				send := func(aec, port string) string {
					var args []string
					if tool == "storescu" {
						args = []string{"-v", "-nh", "-aec", aec, "-xf", storescuConfig(t, round), "Files"}
					} else {
						// -dn: never decompress, so that each file goes in its own syntax or not at all.
						args = []string{"-nh", "-dn", "-aec", aec, "+crf", report}
					}
					args = append(args, host, port)
					for _, f := range round {
						args = append(args, f.path)
					}
					out, err := runTool(t, tool, args...)
					if err != nil {
						t.Logf("%s exited with %v", tool, err)
					}
					return out
				}
				send("STORESCP", strconv.Itoa(refPort))
				out := send("LIGHTBOX", port)
				reasons := sendReasons(out)
				maps.Copy(reasons, dcmsendReport(report))
				ref := readPart10Dir(t, refDir)
				for _, f := range round {
					var got *dimsetest.Instance
					var want received
					for _, u := range f.uids() {
						if in := scp.Instance(u); in != nil {
							got = in
						}
						if r, ok := ref[u]; ok {
							want = r
						}
					}
					switch {
					case got == nil && want.data == nil:
						refused++
						t.Logf("%s did not send %s (%s): %s", tool, f.name, uid.Name(f.TransferSyntax), cmp.Or(reasons[f.name], "no reason given"))
					case got == nil:
						t.Errorf("%s: storescp received it, our SCP did not (%s)", f.name, cmp.Or(reasons[f.name], "no reason given"))
					case want.data == nil:
						t.Errorf("%s: our SCP received it, storescp did not", f.name)
					case got.TransferSyntax != want.ts:
						t.Errorf("%s: we received it in %s, storescp in %s", f.name, uid.Name(got.TransferSyntax), uid.Name(want.ts))
					case !bytes.Equal(got.Data, want.data):
						t.Errorf("%s: our data set (%d bytes) differs from the one storescp recorded (%d bytes) at byte %d",
							f.name, len(got.Data), len(want.data), firstDiff(got.Data, want.data))
					case got.TransferSyntax == f.TransferSyntax && bytes.Equal(got.Data, f.data):
						verbatim++
					default:
						reencoded++
						t.Logf("%s re-encoded %s for the wire (%s, %d → %d bytes): received as storescp recorded it",
							tool, f.name, uid.Name(got.TransferSyntax), len(f.data), len(got.Data))
					}
				}
			}
			t.Logf("%s: %d files received byte-identical to the file, %d re-encoded by %s and identical to storescp's record, %d not sent",
				tool, verbatim, reencoded, tool, refused)
			if verbatim == 0 {
				t.Fatalf("%s sent no file unchanged", tool)
			}
		})
	}
}

// qrFiles are the instances of the query/retrieve interoperability tests: one per syntax and,
// as dcmqrscp sends each SOP class in the first syntax it negotiated for it, one per SOP class;
// each one DCMTK reads and writes back unchanged. An HTJ2K image, which DCMTK 3.6.7 does not
// know, comes last.
var qrFiles = []string{
	"pydicom-data__MR-SIEMENS-DICOM-WithOverlays.dcm",       // MR, Explicit VR Little Endian
	"orthanc-tests__sample-pdf.dcm",                         // Encapsulated PDF, Explicit VR Little Endian
	"pydicom__SC_rgb_jpeg_gdcm.dcm",                         // SC, JPEG Lossless SV1
	"orthanc-tests__Monochrome1-Jpeg.dcm",                   // CR, JPEG Baseline
	"pydicom-data__emri_small_RLE.dcm",                      // Enhanced MR, RLE, multi-frame
	"pylibjpeg-data__TOSHIBA_J2K_OpenJPEGv2Regression.dcm",  // CT, JPEG 2000
	"dicomParser__CT0012.not_fragmented_bot_jpeg_ls.80.dcm", // Enhanced CT, JPEG-LS lossless
	"DICOMHTJ2K__CT1_JPH.dcm",                               // CT, HTJ2K
}

const htj2kFile = "DICOMHTJ2K__CT1_JPH.dcm"

// qrCorpus returns qrFiles as corpus files.
func qrCorpus(t *testing.T) []corpusFile {
	t.Helper()
	dir := corpustest.Need(t)
	var out []corpusFile
	for _, n := range qrFiles {
		f, err := openCorpusFile(t, corpustest.Path(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// studies returns the distinct Study Instance UIDs of instances, sorted.
func studies(ins []*dimsetest.Instance) []string {
	var out []string
	for _, in := range ins {
		if u := in.Dataset.String(tag.StudyInstanceUID); !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// loadSCP stores qrFiles into a new dimsetest SCP with our client and returns it; peers are its
// move destinations, set before any association so that its handlers see them.
func loadSCP(t *testing.T, ae string, peers map[string]string) (*dimsetest.SCP, []corpusFile) {
	t.Helper()
	scp := dimsetest.Start(t, ae, nil)
	maps.Copy(scp.Peers, peers)
	sendFiles(t, scp.Addr, ae, qrFiles...)
	return scp, qrCorpus(t)
}

func TestDCMTKFindSCU(t *testing.T) {
	needTool(t, "findscu")
	scp, files := loadSCP(t, "LIGHTBOX", nil)
	host, port, _ := net.SplitHostPort(scp.Addr)
	find := func(keys ...string) []*dicom.Dataset {
		dir := t.TempDir()
		args := []string{"-S", "-X", "-od", dir, "-aec", "LIGHTBOX", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID", "-k", "PatientName"}
		for _, k := range keys {
			args = append(args, "-k", k)
		}
		out, err := runTool(t, "findscu", append(args, host, port)...)
		if err != nil {
			t.Fatalf("findscu: %v\n%s", err, out)
		}
		var res []*dicom.Dataset
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			f, err := dicom.ReadFile(filepath.Join(dir, e.Name()), dicom.ReadOptions{})
			if err != nil {
				t.Fatalf("findscu response %s: %v", e.Name(), err)
			}
			res = append(res, f.Dataset)
		}
		return res
	}
	// Every study.
	var got []string
	for _, ds := range find("PatientID=*") {
		got = append(got, ds.String(tag.StudyInstanceUID))
	}
	sort.Strings(got)
	if want := studies(scp.Instances()); !slices.Equal(got, want) {
		t.Errorf("findscu found studies %v, want %v", got, want)
	}
	// One patient's study, with its values.
	in := scp.Instance(files[0].SOPInstanceUID)
	pid := in.Dataset.String(tag.PatientID)
	res := find("PatientID=" + pid)
	if len(res) != 1 {
		t.Fatalf("findscu for patient %q: %d matches, want 1", pid, len(res))
	}
	for _, k := range []tag.Tag{tag.StudyInstanceUID, tag.PatientID, tag.PatientName} {
		if g, w := res[0].String(k), in.Dataset.String(k); g != w {
			t.Errorf("findscu match %s = %q, want %q", k, g, w)
		}
	}
}

// checkRetrieved compares instances a DCMTK tool wrote in bit-preserving mode with the files
// they came from: every one but the HTJ2K image, which DCMTK cannot accept, must arrive unchanged.
func checkRetrieved(t *testing.T, tool string, got map[string]received, files []corpusFile) {
	t.Helper()
	for _, f := range files {
		r, ok := got[f.SOPInstanceUID]
		switch {
		case f.name == htj2kFile:
			if ok {
				t.Errorf("%s accepted %s, which DCMTK 3.6.7 does not know", tool, f.name)
			}
		case !ok:
			t.Errorf("%s did not receive %s", tool, f.name)
		case r.ts != f.TransferSyntax:
			t.Errorf("%s received %s in %s, want %s", tool, f.name, uid.Name(r.ts), uid.Name(f.TransferSyntax))
		case !bytes.Equal(r.data, f.data):
			t.Errorf("%s received %s with other bytes (%d, want %d; first difference at %d)", tool, f.name, len(r.data), len(f.data), firstDiff(r.data, f.data))
		}
	}
}

// TestDCMTKMoveSCU: movescu asks our SCP to move every study to movescu's own storage SCP.
func TestDCMTKMoveSCU(t *testing.T) {
	needTool(t, "movescu")
	if !isolate(t) {
		return
	}
	movePort := freePort(t)
	scp, files := loadSCP(t, "LIGHTBOX", map[string]string{"MOVESCU": net.JoinHostPort("127.0.0.1", strconv.Itoa(movePort))})
	host, port, _ := net.SplitHostPort(scp.Addr)
	// movescu 3.6.7 with +B writes into its working directory, not into -od.
	cmd := toolCmd(t, "movescu", "-v", "-S", "--port", strconv.Itoa(movePort), "+xa", "+B",
		"-aet", "MOVESCU", "-aem", "MOVESCU", "-aec", "LIGHTBOX",
		"-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID="+strings.Join(studies(scp.Instances()), `\`), host, port)
	dir := cmd.Dir
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	// One sub-operation fails (HTJ2K): a warning final status, which movescu exits with.
	if !strings.Contains(out, "Received Final Move Response (Warning: SubOperationsCompleteOneOrMoreFailures)") {
		t.Fatalf("movescu (%v) did not get the final response expected:\n%s", err, out)
	}
	checkRetrieved(t, "movescu", readPart10Dir(t, dir), files)
}

// TestDCMTKGetSCU: getscu retrieves every study from our SCP over its own association.
func TestDCMTKGetSCU(t *testing.T) {
	needTool(t, "getscu")
	scp, files := loadSCP(t, "LIGHTBOX", nil)
	host, port, _ := net.SplitHostPort(scp.Addr)
	// getscu offers one transfer syntax per storage class, which we accept: the native one by
	// default, JPEG Lossless with +xs. Each run asks for the studies it can take only: getscu
	// 3.6.7 does not read the identifier (Failed SOP Instance UID List) of a final response
	// reporting failed sub-operations, and then fails to release the association.
	for _, run := range []struct{ opt, ts string }{{"+x=", dicom.ExplicitVRLittleEndian}, {"+xs", "1.2.840.10008.1.2.4.70"}} {
		dir := t.TempDir()
		var sent []corpusFile
		var uids []string
		for _, f := range files {
			if f.TransferSyntax == run.ts {
				sent = append(sent, f)
				uids = append(uids, scp.Instance(f.SOPInstanceUID).Dataset.String(tag.StudyInstanceUID))
			}
		}
		out, err := runTool(t, "getscu", "-v", "-S", run.opt, "+B", "-od", dir, "-aec", "LIGHTBOX",
			"-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID="+strings.Join(uids, `\`), host, port)
		if err != nil {
			t.Fatalf("getscu %s: %v\n%s", run.opt, err, out)
		}
		got := readPart10Dir(t, dir)
		checkRetrieved(t, "getscu "+run.opt, got, sent)
		if len(got) != len(sent) || len(sent) == 0 {
			t.Errorf("getscu %s received %d instances, want %d", run.opt, len(got), len(sent))
		}
	}
}

// storeAll sends files to addr with our client, in as many associations as the presentation
// contexts need (or as aborts by the peer force), and returns the error of each file that could
// not go.
func storeAll(t *testing.T, addr, called string, files []corpusFile, opts dimse.DialOptions) map[string]error {
	t.Helper()
	errs := map[string]error{}
	for len(files) > 0 {
		// One context per (SOP class, transfer syntax), the native syntaxes included: with both
		// in one context (dimse.StorageProposals) the peer picks one and files in the other
		// cannot go as stored.
		var props []dimse.Proposal
		n := 0
		for ; n < len(files); n++ {
			f := files[n]
			if !slices.ContainsFunc(props, func(p dimse.Proposal) bool {
				return p.AbstractSyntax == f.SOPClassUID && p.TransferSyntaxes[0] == f.TransferSyntax
			}) {
				if len(props) == 128 {
					break
				}
				props = append(props, dimse.Proposal{AbstractSyntax: f.SOPClassUID, TransferSyntaxes: []string{f.TransferSyntax}})
			}
		}
		o := opts
		o.CalledAE, o.Proposals = called, props
		c, err := dimse.Dial(ctxT(t), addr, o)
		if err != nil {
			t.Fatalf("associate with %s: %v", called, err)
		}
		i := 0
		for ; i < n; i++ {
			f := files[i]
			req := f.StoreRequest
			req.Data = bytes.NewReader(f.data)
			_, err := c.Store(ctxT(t), req)
			if err == nil {
				continue
			}
			errs[f.name] = err
			var se *dimse.StatusError
			if !errors.Is(err, dimse.ErrNoContext) && !errors.As(err, &se) {
				// The association is gone: go on with a new one.
				c.Abort()
				c = nil
				i++
				break
			}
		}
		if c != nil {
			if err := c.Close(); err != nil {
				t.Fatalf("release: %v", err)
			}
		}
		files = files[i:]
	}
	return errs
}

// TestStoreToDCMTK sends every storable corpus file with our client to storescp recording in
// bit-preserving mode: each must arrive as the file's data set, byte for byte.
func TestStoreToDCMTK(t *testing.T) {
	needTool(t, "storescp")
	if !isolate(t) {
		return
	}
	sent, refused := 0, 0
	for _, round := range rounds(sendableCorpus(t)) {
		port, dir, log := startStorescpOutput(t, "-xf", storescpConfig(t, round), "Files")
		errs := storeAll(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "STORESCP", round, dimse.DialOptions{})
		got := readPart10Dir(t, dir)
		for _, f := range round {
			r, ok := got[f.SOPInstanceUID]
			switch {
			case errs[f.name] != nil:
				refused++
				if ok {
					t.Errorf("%s: storescp stored it but our client reported %v", f.name, errs[f.name])
				}
				switch {
				case errors.Is(errs[f.name], dimse.ErrNoContext):
					t.Logf("storescp accepted no context for %s: %v", f.name, errs[f.name])
				case len(f.data)%2 == 1:
					t.Errorf("storescp refused %s (%s, odd length %d): %v; storescp said: %s", f.name,
						uid.Name(f.TransferSyntax), len(f.data), errs[f.name], errorLines(log.String()))
				default:
					t.Errorf("storescp refused %s (%s): %v; storescp said: %s", f.name, uid.Name(f.TransferSyntax), errs[f.name], errorLines(log.String()))
				}
			case !ok:
				t.Errorf("%s: sent, but storescp wrote no file", f.name)
			case r.ts != f.TransferSyntax:
				t.Errorf("%s: storescp received it in %s, want %s", f.name, uid.Name(r.ts), uid.Name(f.TransferSyntax))
			case !bytes.Equal(r.data, evenPadded(f.data)):
				t.Errorf("%s: storescp received %d bytes that differ from the file's %d at byte %d", f.name, len(r.data), len(f.data), firstDiff(r.data, f.data))
			default:
				sent++
			}
		}
	}
	t.Logf("%d files stored byte-identical by storescp, %d refused", sent, refused)
	if sent == 0 {
		t.Fatal("nothing stored")
	}
}

// TestStoreRefusedSyntax: a peer that accepts only the native syntaxes refuses an HTJ2K image,
// and the error says which syntaxes it accepts.
func TestStoreRefusedSyntax(t *testing.T) {
	needTool(t, "storescp")
	if !isolate(t) {
		return
	}
	port, _ := startStorescp(t) // no +xa: uncompressed syntaxes only
	fi, err := dimse.OpenFile(corpustest.Path(corpustest.Need(t), htj2kFile))
	if err != nil {
		t.Fatal(err)
	}
	defer fi.Close()
	c, err := dimse.Dial(ctxT(t), net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dimse.DialOptions{CalledAE: "STORESCP",
		Proposals: dimse.StorageProposals(map[string][]string{fi.SOPClassUID: {fi.TransferSyntax, dicom.ExplicitVRLittleEndian}})})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Store(ctxT(t), fi.StoreRequest)
	if !errors.Is(err, dimse.ErrNoContext) {
		t.Fatalf("store of HTJ2K to a native-only peer: %v, want an error wrapping ErrNoContext", err)
	}
	for _, want := range []string{uid.Name(fi.TransferSyntax), uid.Name(dicom.ExplicitVRLittleEndian), uid.Name(fi.SOPClassUID)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// dcmqrscpConfig writes dcmqrscp's configuration: AE DCMQRSCP with a storage area, the move
// destination LIGHTBOX at dest, and association profiles that accept and propose each
// syntax of files, so that nothing is converted.
func dcmqrscpConfig(t *testing.T, port int, dest string, files []corpusFile) (cfg, assoc string) {
	t.Helper()
	dir := t.TempDir()
	area := filepath.Join(dir, "area")
	if err := os.Mkdir(area, 0o755); err != nil {
		t.Fatal(err)
	}
	host, destPort, _ := net.SplitHostPort(dest)
	cfg = filepath.Join(dir, "dcmqrscp.cfg")
	c := fmt.Sprintf(`NetworkTCPPort  = %d
MaxPDUSize      = 16384
MaxAssociations = 16

HostTable BEGIN
lightbox = (LIGHTBOX, %s, %s)
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
DCMQRSCP %s RW (100, 1024mb) ANY
AETable END
`, port, host, destPort, area)
	if err := os.WriteFile(cfg, []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	tss := []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian}
	var classes []string
	for _, f := range files {
		if !slices.Contains(tss, f.TransferSyntax) {
			tss = append(tss, f.TransferSyntax)
		}
		if !slices.Contains(classes, f.SOPClassUID) {
			classes = append(classes, f.SOPClassUID)
		}
	}
	b.WriteString("[[TransferSyntaxes]]\n[Native]\nTransferSyntax1 = 1.2.840.10008.1.2.1\nTransferSyntax2 = 1.2.840.10008.1.2\n[All]\n")
	for i, ts := range tss {
		fmt.Fprintf(&b, "TransferSyntax%d = %s\n", i+1, ts)
	}
	for i, ts := range tss {
		fmt.Fprintf(&b, "[TS%d]\nTransferSyntax1 = %s\n", i, ts)
	}
	b.WriteString("[[PresentationContexts]]\n[In]\n")
	n := 0
	for _, as := range []string{dimse.VerificationSOPClass, dimse.StudyRootFind, dimse.StudyRootMove, dimse.StudyRootGet, dimse.PatientRootFind, dimse.PatientRootMove, dimse.PatientRootGet} {
		n++
		fmt.Fprintf(&b, "PresentationContext%d = %s\\Native\n", n, as)
	}
	for _, c := range classes {
		n++
		fmt.Fprintf(&b, "PresentationContext%d = %s\\All\n", n, c)
	}
	b.WriteString("[Out]\n")
	n = 0
	seen := map[string]bool{}
	for _, f := range files {
		for _, ts := range []string{f.TransferSyntax, dicom.ExplicitVRLittleEndian} {
			k := f.SOPClassUID + `\TS` + strconv.Itoa(slices.Index(tss, ts))
			if !seen[k] {
				seen[k] = true
				n++
				fmt.Fprintf(&b, "PresentationContext%d = %s\n", n, k)
			}
		}
	}
	// dcmqrscp takes the SCP role we ask for C-GET only for classes listed with both roles.
	b.WriteString("[[SCPSCURoleSelection]]\n[Roles]\n")
	for i, c := range classes {
		fmt.Fprintf(&b, "Role%d = %s\\BOTH\n", i+1, c)
	}
	b.WriteString("[[Profiles]]\n[In]\nPresentationContexts = In\nSCPSCURoleSelection = Roles\n[Out]\nPresentationContexts = Out\n")
	assoc = filepath.Join(dir, "assoc.cfg")
	if err := os.WriteFile(assoc, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, assoc
}

// TestQueryRetrieveDCMTK loads dcmqrscp with our client's C-STORE, then queries it with C-FIND,
// moves everything to our SCP and gets it back with C-GET: every instance must come back as
// sent, byte for byte.
func TestQueryRetrieveDCMTK(t *testing.T) {
	needTool(t, "dcmqrscp")
	if !isolate(t) {
		return
	}
	var files []corpusFile
	for _, f := range qrCorpus(t) {
		if f.name != htj2kFile { // DCMTK 3.6.7 cannot store it
			files = append(files, f)
		}
	}
	dst := dimsetest.Start(t, "LIGHTBOX", nil)
	port := freePort(t)
	cfg, assoc := dcmqrscpConfig(t, port, dst.Addr, files)
	// Not --single-process: dcmqrscp 3.6.7 crashes (SIGSEGV) after its first association in that
	// mode. Each association is served by a child that ends with it.
	cmd := startTool(t, "dcmqrscp", "-c", cfg, "-xf", assoc, "In", "Out", strconv.Itoa(port))
	waitPort(t, port, cmd)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if errs := storeAll(t, addr, "DCMQRSCP", files, dimse.DialOptions{}); len(errs) > 0 {
		t.Fatalf("load dcmqrscp: %v", errs)
	}
	want := map[string]corpusFile{}
	var studyUIDs []string
	for _, f := range files {
		want[f.SOPInstanceUID] = f
		ds, err := dicom.ParseDataset(f.data, f.TransferSyntax, dicom.ReadOptions{StopAt: tag.PixelData})
		if err != nil {
			t.Fatal(err)
		}
		if u := ds.String(tag.StudyInstanceUID); !slices.Contains(studyUIDs, u) {
			studyUIDs = append(studyUIDs, u)
		}
	}
	sort.Strings(studyUIDs)

	ctx := ctxT(t)
	var props []dimse.Proposal
	props = append(props, dimse.Proposals(dimse.StudyRootFind, dimse.StudyRootMove)...)
	props = append(props, getProposals(dimse.StudyRootGet, files)...)
	c, err := dimse.Dial(ctx, addr, dimse.DialOptions{CalledAE: "DCMQRSCP", Proposals: props})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// C-FIND: every study, then the SOP instances of one.
	q := dicom.NewDataset()
	q.SetString(tag.QueryRetrieveLevel, vr.CS, "STUDY")
	q.SetString(tag.StudyInstanceUID, vr.UI, "")
	q.SetString(tag.PatientID, vr.LO, "")
	var found []string
	for ds, err := range c.Find(ctx, dimse.StudyRootFind, q) {
		if err != nil {
			t.Fatalf("find: %v", err)
		}
		found = append(found, ds.String(tag.StudyInstanceUID))
	}
	sort.Strings(found)
	if !slices.Equal(found, studyUIDs) {
		t.Fatalf("find: studies %v, want %v", found, studyUIDs)
	}

	// C-MOVE every study to our SCP.
	mq := dicom.NewDataset()
	mq.SetString(tag.QueryRetrieveLevel, vr.CS, "STUDY")
	mq.SetString(tag.StudyInstanceUID, vr.UI, studyUIDs...)
	res, err := c.Move(ctx, dimse.StudyRootMove, "LIGHTBOX", mq, nil)
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	if int(res.SubOps.Completed) != len(files) || res.SubOps.Failed != 0 {
		t.Errorf("move: %+v, want %d completed", res.SubOps, len(files))
	}
	for _, f := range files {
		in := dst.Instance(f.SOPInstanceUID)
		switch {
		case in == nil:
			t.Errorf("move: %s did not arrive", f.name)
		case in.TransferSyntax != f.TransferSyntax || !bytes.Equal(in.Data, f.data):
			t.Errorf("move: %s arrived in %s with %d bytes, want %s and the file's %d bytes", f.name,
				uid.Name(in.TransferSyntax), len(in.Data), uid.Name(f.TransferSyntax), len(f.data))
		}
	}

	// C-GET every study over our association.
	got := map[string]bool{}
	res, err = c.Get(ctx, dimse.StudyRootGet, mq, func(ctx context.Context, r *dimse.Request) dimse.Status {
		b, err := io.ReadAll(r.Data)
		if err != nil {
			return dimse.StatusOutOfResources
		}
		f, ok := want[r.Command.AffectedSOPInstanceUID]
		if !ok || r.Context.TransferSyntax != f.TransferSyntax || !bytes.Equal(b, f.data) {
			t.Errorf("get: %s came back in %s with %d bytes, not as sent", r.Command.AffectedSOPInstanceUID, uid.Name(r.Context.TransferSyntax), len(b))
		}
		got[r.Command.AffectedSOPInstanceUID] = true
		return dimse.StatusSuccess
	}, nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if len(got) != len(files) || int(res.SubOps.Completed) != len(files) || res.SubOps.Failed != 0 {
		t.Errorf("get: received %d, result %+v; want %d", len(got), res.SubOps, len(files))
	}
}

// getProposals proposes a C-GET model and, with the SCP role, each (SOP class, transfer syntax)
// pair of files in a context of its own, so that the peer sends every instance as stored.
func getProposals(model string, files []corpusFile) []dimse.Proposal {
	pairs := map[string][]string{}
	for _, f := range files {
		if !slices.Contains(pairs[f.SOPClassUID], f.TransferSyntax) {
			pairs[f.SOPClassUID] = append(pairs[f.SOPClassUID], f.TransferSyntax)
		}
	}
	out := dimse.Proposals(model)
	for _, p := range dimse.StorageProposals(pairs) {
		p.SelectRoles, p.SCU, p.SCP = true, false, true
		out = append(out, p)
	}
	return out
}

// TestOrthanc exercises Orthanc as a peer: our C-ECHO, C-STORE, C-FIND, C-GET and C-MOVE
// against it, and its C-STORE to us at its REST API's request. Every instance must come back
// as sent, byte for byte.
func TestOrthanc(t *testing.T) {
	needTool(t, "Orthanc")
	if !isolate(t) {
		return
	}
	var files []corpusFile
	for _, f := range qrCorpus(t) {
		if f.name != htj2kFile { // Orthanc 1.10 is built on DCMTK 3.6.7, which does not know it
			files = append(files, f)
		}
	}
	dst := dimsetest.Start(t, "LIGHTBOX", nil)
	dir := t.TempDir()
	dicomPort, httpPort := freePort(t), freePort(t)
	_, dstPort, _ := net.SplitHostPort(dst.Addr)
	cfg := map[string]any{
		"Name":                  "lightbox-test",
		"StorageDirectory":      filepath.Join(dir, "storage"),
		"IndexDirectory":        filepath.Join(dir, "index"),
		"StorageCompression":    false,
		"Plugins":               []string{},
		"DicomServerEnabled":    true,
		"DicomAet":              "ORTHANC",
		"DicomPort":             dicomPort,
		"HttpServerEnabled":     true,
		"HttpPort":              httpPort,
		"RemoteAccessAllowed":   false,
		"AuthenticationEnabled": false,
		"DicomModalities":       map[string]any{"LIGHTBOX": []any{"LIGHTBOX", "127.0.0.1", dstPort}},
		"DicomAlwaysAllowEcho":  true,
		"DicomAlwaysAllowStore": true,
		"DicomScpTimeout":       10,
		"DicomScuTimeout":       10,
		"SaveJobs":              false,
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "orthanc.json")
	if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := startTool(t, "Orthanc", cfgPath)
	waitPort(t, dicomPort, cmd)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(dicomPort))
	ctx := ctxT(t)

	// C-ECHO.
	c, err := dimse.Dial(ctx, addr, dimse.DialOptions{CalledAE: "ORTHANC", Proposals: []dimse.Proposal{dimse.EchoProposal()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Echo(ctx); err != nil {
		t.Fatalf("echo: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// C-STORE of every file, then what Orthanc kept: it must hold each data set unchanged.
	if errs := storeAll(t, addr, "ORTHANC", files, dimse.DialOptions{}); len(errs) > 0 {
		t.Fatalf("store to Orthanc: %v", errs)
	}
	want := map[string]corpusFile{}
	var studyUIDs []string
	for _, f := range files {
		want[f.SOPInstanceUID] = f
		ds, err := dicom.ParseDataset(f.data, f.TransferSyntax, dicom.ReadOptions{StopAt: tag.PixelData})
		if err != nil {
			t.Fatal(err)
		}
		if u := ds.String(tag.StudyInstanceUID); !slices.Contains(studyUIDs, u) {
			studyUIDs = append(studyUIDs, u)
		}
	}
	sort.Strings(studyUIDs)
	check := func(op, u, ts string, data []byte) {
		t.Helper()
		f, ok := want[u]
		switch {
		case !ok:
			t.Errorf("%s: unexpected instance %s", op, u)
		case ts != f.TransferSyntax:
			t.Errorf("%s: %s came back in %s, sent in %s", op, f.name, uid.Name(ts), uid.Name(f.TransferSyntax))
		case !bytes.Equal(data, f.data):
			t.Errorf("%s: %s came back with other bytes (%d, sent %d; first difference at %d)", op, f.name, len(data), len(f.data), firstDiff(data, f.data))
		}
	}

	c, err = dimse.Dial(ctx, addr, dimse.DialOptions{CalledAE: "ORTHANC",
		Proposals: append(dimse.Proposals(dimse.StudyRootFind, dimse.StudyRootMove), getProposals(dimse.StudyRootGet, files)...)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// C-FIND: every study.
	q := dicom.NewDataset()
	q.SetString(tag.QueryRetrieveLevel, vr.CS, "STUDY")
	q.SetString(tag.StudyInstanceUID, vr.UI, "")
	q.SetString(tag.PatientID, vr.LO, "")
	var found []string
	for ds, err := range c.Find(ctx, dimse.StudyRootFind, q) {
		if err != nil {
			t.Fatalf("find: %v", err)
		}
		found = append(found, ds.String(tag.StudyInstanceUID))
	}
	sort.Strings(found)
	if !slices.Equal(found, studyUIDs) {
		t.Errorf("find: studies %v, want %v", found, studyUIDs)
	}

	// C-GET every study back over our association.
	rq := dicom.NewDataset()
	rq.SetString(tag.QueryRetrieveLevel, vr.CS, "STUDY")
	rq.SetString(tag.StudyInstanceUID, vr.UI, studyUIDs...)
	got := 0
	res, err := c.Get(ctx, dimse.StudyRootGet, rq, func(ctx context.Context, r *dimse.Request) dimse.Status {
		b, err := io.ReadAll(r.Data)
		if err != nil {
			return dimse.StatusOutOfResources
		}
		check("get", r.Command.AffectedSOPInstanceUID, r.Context.TransferSyntax, b)
		got++
		return dimse.StatusSuccess
	}, nil)
	if err != nil || got != len(files) || int(res.SubOps.Completed) != len(files) {
		t.Errorf("get: %v, received %d of %d (%+v)", err, got, len(files), res)
	}

	// C-MOVE every study to our SCP.
	res, err = c.Move(ctx, dimse.StudyRootMove, "LIGHTBOX", rq, nil)
	if err != nil || int(res.SubOps.Completed) != len(files) {
		t.Errorf("move: %v (%+v)", err, res)
	}
	for _, in := range dst.Instances() {
		check("move", in.SOPInstanceUID, in.TransferSyntax, in.Data)
	}
	if n := len(dst.Instances()); n != len(files) {
		t.Errorf("move: %d instances arrived, want %d", n, len(files))
	}

	// Orthanc's own C-STORE to our SCP, asked for through its REST API.
	dst2 := dimsetest.Start(t, "LIGHTBOX", nil)
	_, dst2Port, _ := net.SplitHostPort(dst2.Addr)
	api := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	rest := func(method, path string, body any) []byte {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, api+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %s: %v %s", method, path, resp.Status, err, b)
		}
		return b
	}
	rest(http.MethodPut, "/modalities/LIGHTBOX2", map[string]any{"AET": "LIGHTBOX", "Host": "127.0.0.1", "Port": dst2Port})
	var ids []string
	if err := json.Unmarshal(rest(http.MethodGet, "/instances", nil), &ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(files) {
		t.Fatalf("Orthanc holds %d instances, want %d", len(ids), len(files))
	}
	rest(http.MethodPost, "/modalities/LIGHTBOX2/store", map[string]any{"Resources": ids, "Synchronous": true})
	for _, in := range dst2.Instances() {
		check("REST store", in.SOPInstanceUID, in.TransferSyntax, in.Data)
	}
	if n := len(dst2.Instances()); n != len(files) {
		t.Errorf("REST store: %d instances arrived, want %d", n, len(files))
	}
	t.Logf("Orthanc: %d instances in %d studies stored, found, got, moved and sent back", len(files), len(studyUIDs))

	// HTJ2K, which the DCMTK under Orthanc 1.10 does not know: whatever Orthanc answers, our
	// client reports it cleanly.
	h, err := openCorpusFile(t, corpustest.Path(corpustest.Need(t), htj2kFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Orthanc and HTJ2K: %v", storeAll(t, addr, "ORTHANC", []corpusFile{h}, dimse.DialOptions{})[h.name])
}
