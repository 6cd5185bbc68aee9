package integration

// Helpers shared by the tests: synthetic instances, our DIMSE client against the server, and
// what the tests read back from the server and its data directory.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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
)

// long reports whether the soak variants run (LIGHTBOX_LONG=1, make long-tests).
func long() bool { return os.Getenv("LIGHTBOX_LONG") == "1" }

// ctxFor returns a context bounded by d and the test.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// instance is a synthetic CT image: its identity and its data set bytes (Explicit VR Little
// Endian) with their SHA-256.
type instance struct {
	SOP, Series, Study, Patient string
	Data                        []byte
	Sum                         [32]byte
}

// ctClass is the SOP class of the synthetic instances.
const ctClass = uid.CTImageStorage

// study describes synthetic instances to make.
type study struct {
	PatientID, PatientName, StudyUID, StudyDate, Modality string
	// SeriesUIDs: the instances are spread over these, in turn.
	SeriesUIDs []string
}

// newStudy returns a study with fresh UIDs and nSeries series.
func newStudy(patientID, patientName, date string, nSeries int) study {
	s := study{PatientID: patientID, PatientName: patientName, StudyUID: uid.New(), StudyDate: date, Modality: "CT"}
	for range nSeries {
		s.SeriesUIDs = append(s.SeriesUIDs, uid.New())
	}
	return s
}

// dataset builds the data set of instance number n of st with about size bytes of pixel data
// drawn from rng.
func (st study) dataset(rng *rand.Rand, sop string, n, size int) *dicom.Dataset {
	ds := dicom.NewDataset()
	set := func(t tag.Tag, v vr.VR, s string) {
		if err := ds.SetString(t, v, s); err != nil {
			panic(err)
		}
	}
	ints := func(t tag.Tag, v vr.VR, x int64) {
		if err := ds.SetInts(t, v, x); err != nil {
			panic(err)
		}
	}
	series := st.SeriesUIDs[n%len(st.SeriesUIDs)]
	set(tag.SOPClassUID, vr.UI, ctClass)
	set(tag.SOPInstanceUID, vr.UI, sop)
	set(tag.StudyDate, vr.DA, st.StudyDate)
	set(tag.StudyTime, vr.TM, "101500")
	set(tag.AccessionNumber, vr.SH, "A"+st.PatientID)
	set(tag.Modality, vr.CS, st.Modality)
	set(tag.StudyDescription, vr.LO, "synthetic "+st.Modality)
	set(tag.PatientName, vr.PN, st.PatientName)
	set(tag.PatientID, vr.LO, st.PatientID)
	set(tag.PatientBirthDate, vr.DA, "19700101")
	set(tag.PatientSex, vr.CS, "O")
	set(tag.StudyInstanceUID, vr.UI, st.StudyUID)
	set(tag.SeriesInstanceUID, vr.UI, series)
	set(tag.StudyID, vr.SH, "1")
	set(tag.SeriesNumber, vr.IS, strconv.Itoa(1+n%len(st.SeriesUIDs)))
	set(tag.InstanceNumber, vr.IS, strconv.Itoa(n+1))
	ints(tag.SamplesPerPixel, vr.US, 1)
	set(tag.PhotometricInterpretation, vr.CS, "MONOCHROME2")
	cols := 64
	rows := max(1, size/(2*cols))
	ints(tag.Rows, vr.US, int64(rows))
	ints(tag.Columns, vr.US, int64(cols))
	ints(tag.BitsAllocated, vr.US, 16)
	ints(tag.BitsStored, vr.US, 16)
	ints(tag.HighBit, vr.US, 15)
	ints(tag.PixelRepresentation, vr.US, 0)
	pix := make([]byte, rows*cols*2)
	for i := 0; i < len(pix); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < len(pix); j++ {
			pix[i+j] = byte(v >> (8 * j))
		}
	}
	ds.Set(dicom.NewElement(tag.PixelData, vr.OW, pix))
	return ds
}

// encode returns ds as an instance.
func encode(t testing.TB, ds *dicom.Dataset) instance {
	t.Helper()
	var b bytes.Buffer
	if err := dicom.WriteDataset(&b, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return instance{SOP: ds.String(tag.SOPInstanceUID), Series: ds.String(tag.SeriesInstanceUID),
		Study: ds.String(tag.StudyInstanceUID), Patient: ds.String(tag.PatientID), Data: b.Bytes(), Sum: sha256.Sum256(b.Bytes())}
}

// instances makes n instances of st with pixel data of minSize to maxSize bytes.
func (st study) instances(t testing.TB, rng *rand.Rand, n, minSize, maxSize int) []instance {
	t.Helper()
	out := make([]instance, n)
	for i := range out {
		size := minSize
		if maxSize > minSize {
			size += rng.IntN(maxSize - minSize)
		}
		out[i] = encode(t, st.dataset(rng, uid.New(), i, size))
	}
	return out
}

// storeProposals proposes the synthetic instances' class in Explicit VR Little Endian.
func storeProposals() []dimse.Proposal {
	return []dimse.Proposal{{AbstractSyntax: ctClass, TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}}}
}

// dial opens an association with the server proposing props.
func (s *server) dial(ctx context.Context, props []dimse.Proposal) (*dimse.Client, error) {
	return dimse.Dial(ctx, s.dicomAddr(), dimse.DialOptions{CallingAE: "ITEST", CalledAE: s.ae, Proposals: props})
}

// mustDial is dial that fails the test.
func (s *server) mustDial(ctx context.Context, props []dimse.Proposal) *dimse.Client {
	s.t.Helper()
	c, err := s.dial(ctx, props)
	if err != nil {
		s.t.Fatalf("associate with lightbox: %v", err)
	}
	return c
}

// store sends one synthetic instance with C-STORE and returns the status.
func store(ctx context.Context, c *dimse.Client, in instance) (dimse.Status, error) {
	st, err := c.Store(ctx, dimse.StoreRequest{SOPClassUID: ctClass, SOPInstanceUID: in.SOP,
		TransferSyntax: dicom.ExplicitVRLittleEndian, Data: bytes.NewReader(in.Data)})
	var se *dimse.StatusError
	if errors.As(err, &se) {
		return se.Status, err
	}
	return st, err
}

// storeAll sends ins over one association and fails the test unless every one succeeds.
func (s *server) storeAll(ins []instance) {
	s.t.Helper()
	ctx := ctxFor(s.t, 2*time.Minute)
	c := s.mustDial(ctx, storeProposals())
	defer c.Close()
	for _, in := range ins {
		if st, err := store(ctx, c, in); err != nil || st != dimse.StatusSuccess {
			s.t.Fatalf("C-STORE %s: status %v, %v", in.SOP, st, err)
		}
	}
}

// retrieved is an instance received by C-GET: its transfer syntax and data set bytes.
type retrieved struct {
	ts   string
	data []byte
}

// get retrieves with C-GET (Study Root) the instances under the given UIDs at level (STUDY,
// SERIES or IMAGE) over our client, accepting classes in syntaxes (native ones by default), and
// returns them by SOP Instance UID.
func (s *server) get(level string, uids []string, classes []string, syntaxes []string) (map[string]retrieved, *dimse.RetrieveResult, error) {
	s.t.Helper()
	if len(classes) == 0 {
		classes = []string{ctClass}
	}
	ctx := ctxFor(s.t, 5*time.Minute)
	c, err := s.dial(ctx, dimse.GetProposals(dimse.StudyRootGet, syntaxes, classes...))
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	key := map[string]tag.Tag{"STUDY": tag.StudyInstanceUID, "SERIES": tag.SeriesInstanceUID, "IMAGE": tag.SOPInstanceUID}[level]
	out := map[string]retrieved{}
	var mu sync.Mutex
	for i := 0; i < len(uids); i += 64 {
		batch := uids[i:min(len(uids), i+64)]
		q := dicom.NewDataset()
		q.SetString(tag.QueryRetrieveLevel, vr.CS, level)
		q.SetString(key, vr.UI, batch...)
		res, err := c.Get(ctx, dimse.StudyRootGet, q, func(ctx context.Context, r *dimse.Request) dimse.Status {
			b, err := io.ReadAll(r.Data)
			if err != nil {
				return dimse.StatusOutOfResources
			}
			mu.Lock()
			out[strings.TrimRight(r.Command.AffectedSOPInstanceUID, "\x00 ")] = retrieved{ts: r.Context.TransferSyntax, data: b}
			mu.Unlock()
			return dimse.StatusSuccess
		}, nil)
		if err != nil {
			return out, res, err
		}
		if res.SubOps.Failed > 0 || res.SubOps.Warning > 0 {
			return out, res, fmt.Errorf("C-GET: %+v (failed %v)", res.SubOps, res.FailedUIDs)
		}
	}
	return out, nil, nil
}

// mustGet is get that fails the test.
func (s *server) mustGet(level string, uids ...string) map[string]retrieved {
	s.t.Helper()
	got, _, err := s.get(level, uids, nil, nil)
	if err != nil {
		s.t.Fatalf("C-GET %s %v: %v", level, uids, err)
	}
	return got
}

// find runs a C-FIND with model (Study Root by default) and returns the matches.
func (s *server) find(model string, q *dicom.Dataset) ([]*dicom.Dataset, error) {
	s.t.Helper()
	if model == "" {
		model = dimse.StudyRootFind
	}
	ctx := ctxFor(s.t, time.Minute)
	c, err := s.dial(ctx, dimse.Proposals(model))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var out []*dicom.Dataset
	for ds, err := range c.Find(ctx, model, q) {
		if err != nil {
			return out, err
		}
		out = append(out, ds)
	}
	return out, nil
}

// query builds a C-FIND identifier: level and keys "Keyword=value" (an empty value asks for
// the attribute to be returned).
func query(t testing.TB, level string, keys ...string) *dicom.Dataset {
	t.Helper()
	q := dicom.NewDataset()
	q.SetString(tag.QueryRetrieveLevel, vr.CS, level)
	for _, k := range keys {
		name, value, _ := strings.Cut(k, "=")
		tg, err := tag.Parse(name)
		if err != nil {
			t.Fatalf("query key %q: %v", name, err)
		}
		info, _ := tag.Lookup(tg)
		v := info.VR
		if value == "" {
			q.Set(dicom.Element{Tag: tg, VR: v, Offset: -1})
			continue
		}
		if err := q.SetString(tg, v, strings.Split(value, `\`)...); err != nil {
			t.Fatal(err)
		}
	}
	return q
}

// mustFind is find (Study Root) that fails the test.
func (s *server) mustFind(level string, keys ...string) []*dicom.Dataset {
	s.t.Helper()
	res, err := s.find("", query(s.t, level, keys...))
	if err != nil {
		s.t.Fatalf("C-FIND %s %v: %v", level, keys, err)
	}
	return res
}

// health returns the instance count /healthz reports.
func (s *server) health() (int, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", s.httpPort))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var h struct {
		Status    string `json:"status"`
		Instances int    `json:"instances"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 || h.Status != "ok" {
		return 0, fmt.Errorf("/healthz: %s %q", resp.Status, h.Status)
	}
	return h.Instances, nil
}

// mustHealth is health that fails the test.
func (s *server) mustHealth() int {
	s.t.Helper()
	n, err := s.health()
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

// stats are the counts `lightbox stats` prints.
type stats struct{ Patients, Studies, Series, Instances int }

var statsLine = regexp.MustCompile(`(?m)^(patients|studies|series|instances)\s+(\d+)$`)

// archiveStats runs `lightbox stats` on a data directory (the server must be stopped).
func archiveStats(t testing.TB, data string) stats {
	t.Helper()
	out, _ := lightbox(t, false, "stats", "--data", data)
	var st stats
	m := statsLine.FindAllStringSubmatch(out, -1)
	if len(m) != 4 {
		t.Fatalf("lightbox stats printed:\n%s", out)
	}
	for _, x := range m {
		n, _ := strconv.Atoi(x[2])
		switch x[1] {
		case "patients":
			st.Patients = n
		case "studies":
			st.Studies = n
		case "series":
			st.Series = n
		case "instances":
			st.Instances = n
		}
	}
	return st
}

// storeFiles walks the blob store under data: the committed objects (path → size) and the
// temporary files.
func storeFiles(t testing.TB, data string) (blobs map[string]int64, temps []string) {
	t.Helper()
	root := filepath.Join(data, "instances")
	blobs = map[string]int64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case rel == ".lightbox-storage":
		case strings.HasPrefix(rel, "tmp"+string(filepath.Separator)):
			temps = append(temps, rel)
		default:
			info, err := d.Info()
			if err != nil {
				return err
			}
			blobs[rel] = info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return blobs, temps
}

// checkNoOrphans checks that the blob store holds exactly want objects and no temporary file.
func checkNoOrphans(t testing.TB, data string, want int) {
	t.Helper()
	blobs, temps := storeFiles(t, data)
	if len(blobs) != want {
		t.Errorf("blob store holds %d objects, the index %d instances", len(blobs), want)
	}
	if len(temps) > 0 {
		t.Errorf("temporary files left in the blob store: %v", temps)
	}
}

func shortSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:6])
}

// firstDiff returns the offset of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// ints returns the integer value of a C-FIND response attribute.
func intOf(ds *dicom.Dataset, t tag.Tag) int {
	n, _ := strconv.Atoi(strings.TrimSpace(ds.String(t)))
	return n
}

// newUID returns a fresh UID.
func newUID() string { return uid.New() }
