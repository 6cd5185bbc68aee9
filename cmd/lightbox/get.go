package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/progress"
)

func runGet(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "get", "[flags] AE@host:port --out DIR -k KEY=VALUE...", `
Retrieve the instances matching a query with C-GET (PS3.4 C) over the association itself, and
store each one in DIR as a Part 10 file named after its SOP Instance UID (UID.dcm): File Meta
Information (SOP class and instance from the C-STORE request, the transfer syntax of its
presentation context), then the data set exactly as received. Files are written under a
temporary name and renamed when complete, readable by their owner only.

--level, --model and -k are as for find; at least one key must carry a value.

C-GET needs, besides the query model, a presentation context for every SOP class and transfer
syntax the peer may send back, and 128 contexts is all an association holds. The peer picks one
transfer syntax per context, and a peer that does not convert can send an instance only in a
context of the instance's own syntax: so each syntax of --syntaxes gets contexts of its own.
Every class of --classes gets a context in each native syntax listed; the contexts left go, class
by class, to the compressed syntaxes of the image classes, the most common first. The defaults
(24 classes: CT, MR, CR, DX, MG, US, US multi-frame, XA, RF, PET and secondary capture with
every default syntax; enhanced CT and MR, NM, segmentation, RT dose, RT structure set and plan,
SR, key objects, presentation states and PDF in the native ones) fill the 128 contexts. When the
peer reports sub-operations failed for want of a context, narrow --classes and --syntaxes to
what the study holds:

  lightbox get ARCHIVE@pacs:104 --out seg -k StudyInstanceUID=1.2.3 \
      --classes SegmentationStorage --syntaxes explicit,j2k-lossless

Progress and the final result are shown as for move; the exit status is 1 when any instance
failed, on the peer's side or ours.`)
	nf := addNetFlags(fs)
	qf := addQueryFlags(fs)
	out := fs.String("out", "", "`directory` to store the instances in (created if missing; required)")
	syntaxes := fs.String("syntaxes", strings.Join(defaultGetSyntaxes(), ","),
		"transfer syntaxes to accept, comma-separated: names ("+strings.Join(syntaxAliasNames(), ", ")+"), UID keywords or UIDs")
	classes := fs.String("classes", "", "storage SOP classes to accept, comma-separated UID keywords (CTImageStorage) or UIDs (default: 24 common ones, see above)")
	p, rest, err := parseNetCommand(e, fs, nf, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "lightbox get: unexpected argument %q (query keys go with -k)\n", rest[0])
		return exitError{2}
	}
	if *out == "" {
		fmt.Fprintf(e.stderr, "lightbox get: --out DIR is required\n")
		return exitError{2}
	}
	level, err := qf.normLevel()
	if err != nil {
		return err
	}
	model, err := qf.sopClass(dimse.CGetRQ)
	if err != nil {
		return err
	}
	query, _, err := buildQuery(level, nil, qf.keys)
	if err != nil {
		return err
	}
	if !hasMatchingKey(query) {
		return errors.New("no -k key with a value: refusing to retrieve everything at this level (e.g. -k StudyInstanceUID=...)")
	}
	tsList, err := parseSyntaxes(*syntaxes)
	if err != nil {
		return err
	}
	classList, custom, err := parseClasses(*classes)
	if err != nil {
		return err
	}
	proposals := getProposals(model, tsList, classList, custom)
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	opts, err := nf.dialOptions(e, "get", p, proposals)
	if err != nil {
		return err
	}
	c, err := dimse.Dial(ctx, p.Addr(), opts)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	rp := newRetrieveProgress(e, "get")
	st := &getStore{dir: *out, bar: rp.bar}
	res, err := c.Get(ctx, model, query, st.store, rp.update)
	rp.done()
	elapsed := time.Since(start)
	sort.Slice(st.failures, func(i, j int) bool { return st.failures[i] < st.failures[j] })
	for _, f := range st.failures {
		fmt.Fprintf(e.stderr, "lightbox get: not stored: %s\n", f)
	}
	fmt.Fprintf(e.stdout, "stored %d instances (%s MB) in %s in %s: %s inst/s, %s MB/s; %d failed here\n", st.stored, progress.MB(st.bytes), *out,
		fmtSeconds(elapsed), progress.Rate(perSecond(float64(st.stored), elapsed)), progress.Rate(perSecond(float64(st.bytes)/1e6, elapsed)), len(st.failures))
	rerr := retrieveResult(e, "get", "retrieved", res, err, elapsed)
	if res != nil && res.SubOps.Failed > 0 {
		fmt.Fprintf(e.stderr, "lightbox get: the peer could not send %d instances; if it lacks a presentation context for their SOP class and transfer syntax, narrow --classes and --syntaxes (see lightbox get --help)\n", res.SubOps.Failed)
	}
	if rerr == nil && len(st.failures) > 0 {
		return exitError{1}
	}
	return rerr
}

// getStore writes the instances a C-GET brings back.
type getStore struct {
	dir string
	bar *progress.Bar

	mu       sync.Mutex
	stored   int
	bytes    int64
	failures []string
}

func (g *getStore) store(ctx context.Context, r *dimse.Request) dimse.Status {
	inst := strings.TrimRight(r.Command.AffectedSOPInstanceUID, "\x00 ")
	class := strings.TrimRight(r.Command.AffectedSOPClassUID, "\x00 ")
	ts := r.Context.TransferSyntax
	fail := func(st dimse.Status, format string, a ...any) dimse.Status {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.failures = append(g.failures, fmt.Sprintf("%q: ", inst)+fmt.Sprintf(format, a...))
		return st
	}
	// The file name comes from the UID: only a valid UID (digits and dots) names a file.
	if !uid.IsValid(inst) {
		return fail(dimse.StatusCannotUnderstand, "invalid SOP Instance UID")
	}
	if !uid.IsValid(class) {
		return fail(dimse.StatusCannotUnderstand, "invalid SOP Class UID %q", class)
	}
	n, err := writeInstance(filepath.Join(g.dir, inst+".dcm"), class, inst, ts, &countingReader{r: r.Data, add: func(n int64) { g.bar.Add(0, n) }})
	if err != nil {
		return fail(dimse.StatusOutOfResources, "%v", err)
	}
	g.mu.Lock()
	g.stored++
	g.bytes += n
	g.mu.Unlock()
	return dimse.StatusSuccess
}

// writeInstance writes a Part 10 file at path: File Meta for the instance and transfer syntax,
// then the data set streamed from data as is. It writes a temporary file beside path and renames
// it when complete. It returns the data set's length.
func writeInstance(path, class, inst, ts string, data io.Reader) (n int64, err error) {
	stub := dicom.NewDataset()
	if err := stub.SetString(tag.SOPClassUID, vr.UI, class); err != nil {
		return 0, err
	}
	if err := stub.SetString(tag.SOPInstanceUID, vr.UI, inst); err != nil {
		return 0, err
	}
	meta := dicom.NewMeta(stub, ts)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lightbox-get-*.part")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// An empty data set after the File Meta: Write then emits the preamble, "DICM" and the
	// File Meta with its group length; the data set bytes follow untouched. The syntax is given
	// as a plain one so that nothing (not even a deflate stream) is written for the empty set.
	if err := dicom.Write(tmp, &dicom.File{Meta: meta, Dataset: dicom.NewDataset(), Syntax: dicom.Syntax{UID: ts}}, dicom.WriteOptions{}); err != nil {
		return 0, fmt.Errorf("write File Meta: %w", err)
	}
	n, err = io.Copy(tmp, data)
	if err != nil {
		return 0, fmt.Errorf("receive data set: %w", err)
	}
	if n == 0 {
		return 0, errors.New("empty data set")
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	return n, nil
}

// syntaxAlias is a short name for a transfer syntax on the command line.
type syntaxAlias struct{ name, uid string }

func syntaxAliases() []syntaxAlias {
	return []syntaxAlias{
		{"explicit", uid.ExplicitVRLittleEndian},
		{"implicit", uid.ImplicitVRLittleEndian},
		{"deflated", uid.DeflatedExplicitVRLittleEndian},
		{"big-endian", uid.ExplicitVRBigEndian},
		{"jpeg-baseline", uid.JPEGBaseline8Bit},
		{"jpeg-extended", uid.JPEGExtended12Bit},
		{"jpeg-lossless", uid.JPEGLosslessSV1},
		{"jpeg-lossless-14", uid.JPEGLossless},
		{"jpeg-ls", uid.JPEGLSLossless},
		{"jpeg-ls-near", uid.JPEGLSNearLossless},
		{"j2k-lossless", uid.JPEG2000Lossless},
		{"j2k", uid.JPEG2000},
		{"rle", uid.RLELossless},
		{"htj2k-lossless", uid.HTJ2KLossless},
		{"htj2k-rpcl", uid.HTJ2KLosslessRPCL},
		{"htj2k", uid.HTJ2K},
	}
}

func syntaxAliasNames() []string {
	var out []string
	for _, a := range syntaxAliases() {
		out = append(out, a.name)
	}
	return out
}

// defaultGetSyntaxes are the native syntaxes and the compressed ones archives commonly hold.
func defaultGetSyntaxes() []string {
	return []string{"explicit", "implicit", "jpeg-baseline", "jpeg-lossless", "jpeg-ls", "j2k-lossless", "j2k", "rle", "htj2k-rpcl"}
}

// parseSyntaxes reads a comma-separated list of transfer syntaxes.
func parseSyntaxes(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		u, ok := "", false
		for _, a := range syntaxAliases() {
			if strings.EqualFold(a.name, item) {
				u, ok = a.uid, true
			}
		}
		if !ok {
			if info, found := uid.ByKeyword(item); found && info.Type == uid.TypeTransferSyntax {
				u, ok = info.UID, true
			} else if info, found := uid.Lookup(item); found && info.Type == uid.TypeTransferSyntax {
				u, ok = info.UID, true
			}
		}
		if !ok {
			return nil, fmt.Errorf("--syntaxes: unknown transfer syntax %q: give one of %s, a UID keyword or a transfer syntax UID", item, strings.Join(syntaxAliasNames(), ", "))
		}
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--syntaxes: no transfer syntax")
	}
	return out, nil
}

// parseClasses reads a comma-separated list of storage SOP classes; empty gives the default
// list. custom reports a list given by the user.
func parseClasses(s string) (classes []string, custom bool, err error) {
	if strings.TrimSpace(s) == "" {
		return defaultGetClasses(), false, nil
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		info, ok := uid.ByKeyword(item)
		if !ok {
			info, ok = uid.Lookup(item)
		}
		if !ok && uid.IsValid(item) {
			info, ok = uid.Info{UID: item, Type: uid.TypeSOPClass}, true
		}
		if !ok || info.Type != uid.TypeSOPClass {
			return nil, false, fmt.Errorf("--classes: %q is not a SOP class keyword or UID", item)
		}
		if !seen[info.UID] {
			seen[info.UID] = true
			classes = append(classes, info.UID)
		}
	}
	if len(classes) == 0 {
		return nil, false, errors.New("--classes: no SOP class")
	}
	return classes, true, nil
}

// defaultGetClasses are the storage SOP classes get accepts by default: the images a PACS meets
// daily, their derived objects and the usual documents. With both native syntaxes in contexts of
// their own and the default compressed ones for the first eleven image classes, they take 126
// contexts; the last two go to enhanced CT.
func defaultGetClasses() []string {
	return append(compressionOrder(),
		uid.RTStructureSetStorage, uid.RTPlanStorage, uid.BasicTextSRStorage, uid.EnhancedSRStorage, uid.ComprehensiveSRStorage,
		uid.KeyObjectSelectionDocumentStorage, uid.GrayscaleSoftcopyPresentationStateStorage, uid.EncapsulatedPDFStorage)
}

// compressionOrder lists the image classes of defaultGetClasses, the most common first: the
// order in which they get contexts for compressed syntaxes.
func compressionOrder() []string {
	return []string{
		uid.CTImageStorage, uid.MRImageStorage, uid.ComputedRadiographyImageStorage, uid.DigitalXRayImageStorageForPresentation,
		uid.DigitalMammographyXRayImageStorageForPresentation, uid.UltrasoundImageStorage, uid.UltrasoundMultiFrameImageStorage,
		uid.XRayAngiographicImageStorage, uid.XRayRadiofluoroscopicImageStorage, uid.PositronEmissionTomographyImageStorage,
		uid.SecondaryCaptureImageStorage,
		uid.EnhancedCTImageStorage, uid.EnhancedMRImageStorage, uid.NuclearMedicineImageStorage, uid.SegmentationStorage, uid.RTDoseStorage,
	}
}

// getProposals lays out the presentation contexts of a C-GET association (see the get command's
// help). Each context carries a single transfer syntax, since the acceptor picks one syntax per
// context and a peer that does not convert can send an instance only in a context of the
// instance's own syntax. In order, while room is left: the model; per class a context in the
// first syntax listed (natives first), with the SCP role selected; per class the other native
// syntaxes; per image class, class by class, the compressed syntaxes.
func getProposals(model string, syntaxes, classes []string, custom bool) []dimse.Proposal {
	var native, compressed []string
	for _, ts := range syntaxes {
		if dicom.IsNative(ts) {
			native = append(native, ts)
		} else {
			compressed = append(compressed, ts)
		}
	}
	ordered := append(native, compressed...)
	if len(classes) > maxContexts-1 {
		classes = classes[:maxContexts-1]
	}
	out := dimse.GetProposals(model, ordered[:1], classes...)
	add := func(class, ts string) {
		if len(out) < maxContexts {
			pr := dimse.GetProposals(model, []string{ts}, class)[1]
			pr.SelectRoles = false // proposed once per class, with its first context
			out = append(out, pr)
		}
	}
	if len(native) > 1 {
		for _, c := range classes {
			for _, ts := range native[1:] {
				add(c, ts)
			}
		}
	}
	if len(native) == 0 {
		compressed = compressed[1:]
	}
	images := classes
	if !custom {
		images = nil
		for _, c := range compressionOrder() {
			if containsString(classes, c) {
				images = append(images, c)
			}
		}
	}
	for _, c := range images {
		for _, ts := range compressed {
			add(c, ts)
		}
	}
	return out
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
