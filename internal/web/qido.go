package web

import (
	"cmp"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Default return attributes of each level (PS3.18 Tables 10.6.3-3, 10.6.3-4 and 10.6.3-5).
// Specific Character Set is always ISO_IR 192 (the index's strings are UTF-8).
var (
	studyDefaults = []tag.Tag{tag.StudyDate, tag.StudyTime, tag.AccessionNumber, tag.InstanceAvailability,
		tag.ModalitiesInStudy, tag.ReferringPhysicianName, tag.RetrieveURL, tag.PatientName,
		tag.PatientID, tag.PatientBirthDate, tag.PatientSex, tag.StudyInstanceUID, tag.StudyID,
		tag.NumberOfStudyRelatedSeries, tag.NumberOfStudyRelatedInstances}
	seriesDefaults = []tag.Tag{tag.Modality, tag.SeriesDescription, tag.RetrieveURL,
		tag.SeriesInstanceUID, tag.SeriesNumber, tag.NumberOfSeriesRelatedInstances,
		tag.PerformedProcedureStepStartDate, tag.PerformedProcedureStepStartTime}
	instanceDefaults = []tag.Tag{tag.SOPClassUID, tag.SOPInstanceUID, tag.InstanceAvailability,
		tag.RetrieveURL, tag.InstanceNumber, tag.Rows, tag.Columns, tag.BitsAllocated, tag.NumberOfFrames}
)

// searchPlan is a parsed QIDO-RS request.
type searchPlan struct {
	level    index.Level
	q        *index.Query
	params   *dicomweb.Query
	defaults []tag.Tag
	// explicit: attributes the request names (keys, includefield); looked up in the instance's
	// metadata when the index does not have them.
	explicit []tag.Tag
	keys     map[tag.Tag]bool
	// post: instance-level keys the index does not keep, matched on the metadata.
	post     []index.Key
	warnings []string
	// returned: the defaults and explicit attributes, each once, in tag order, so that a result
	// is built by appending.
	returned []returnKey
}

// returnKey is an attribute a result holds; explicit when the request names it.
type returnKey struct {
	tag      tag.Tag
	explicit bool
}

// plan builds the index query of a QIDO-RS request (PS3.18 8.3.4, 10.6.1).
func plan(level index.Level, r *http.Request) (*searchPlan, error) {
	study, series, _, err := pathUIDs(r)
	if err != nil {
		return nil, err
	}
	p, err := dicomweb.ParseQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}
	sp := &searchPlan{level: level, params: p, keys: map[tag.Tag]bool{},
		q: &index.Query{Level: level, Limit: p.Limit, Offset: p.Offset}}
	if p.FuzzyMatching {
		sp.q.FuzzyPN, sp.q.CaseInsensitivePN = true, true
	}
	for _, k := range p.Match {
		key := index.Key{Tag: k.Tag, VR: k.VR, Value: k.Value}
		a, indexed := index.AttrOf(k.Tag)
		if indexed {
			key.VR = a.VR
		}
		if key.VR == 0 {
			return nil, fmt.Errorf("attribute %s is not in the data dictionary: its VR is unknown, so it cannot be matched", k.Tag)
		}
		if indexed && a.Level > level {
			sp.warnings = append(sp.warnings, fmt.Sprintf("%s is not an attribute of the %s level: not matched", tag.Keyword(k.Tag), strings.ToLower(level.String())))
			continue
		}
		sp.keys[k.Tag] = true
		sp.explicit = append(sp.explicit, k.Tag)
		sp.q.Keys = append(sp.q.Keys, key)
		if !indexed && level == index.Instance {
			sp.post = append(sp.post, key)
		}
	}
	if study != "" {
		sp.q.Keys = append(sp.q.Keys, index.Key{Tag: tag.StudyInstanceUID, VR: vr.UI, Value: study})
	}
	if series != "" {
		sp.q.Keys = append(sp.q.Keys, index.Key{Tag: tag.SeriesInstanceUID, VR: vr.UI, Value: series})
	}
	for _, o := range p.OrderBy {
		sp.q.OrderBy = append(sp.q.OrderBy, index.Order{Tag: o.Tag, Desc: o.Desc})
	}
	sp.explicit = append(sp.explicit, p.IncludeFields...)
	// Results not scoped to a study carry the study's attributes, and instances not scoped to a
	// series the series' (PS3.18 10.6.3.3).
	switch level {
	case index.Study:
		sp.defaults = studyDefaults
	case index.Series:
		if study == "" {
			sp.defaults = append(sp.defaults, studyDefaults...)
		}
		sp.defaults = append(sp.defaults, tag.StudyInstanceUID)
		sp.defaults = append(sp.defaults, seriesDefaults...)
	case index.Instance:
		if study == "" {
			sp.defaults = append(sp.defaults, studyDefaults...)
		}
		if series == "" {
			sp.defaults = append(sp.defaults, seriesDefaults...)
		}
		sp.defaults = append(sp.defaults, tag.StudyInstanceUID, tag.SeriesInstanceUID)
		sp.defaults = append(sp.defaults, instanceDefaults...)
	}
	for _, name := range p.Ignored {
		if name == "emptyvaluematching" {
			sp.warnings = append(sp.warnings, "The emptyvaluematching parameter is not supported. Empty Value Matching has not been performed.")
		}
	}
	if len(sp.post) > 0 {
		// Paging happens after matching on the metadata.
		sp.q.Limit, sp.q.Offset = 0, 0
	}
	sp.returned = returnOrder(sp.defaults, sp.explicit)
	if !p.IncludeAll {
		// The index reads only what the results hold.
		sp.q.Return = make([]tag.Tag, 0, len(sp.returned))
		for _, k := range sp.returned {
			sp.q.Return = append(sp.q.Return, k.tag)
		}
	}
	return sp, nil
}

// returnOrder merges the default and explicit return attributes into one list in tag order,
// each once, explicit when the request names it.
func returnOrder(defaults, explicit []tag.Tag) []returnKey {
	out := make([]returnKey, 0, len(defaults)+len(explicit))
	for _, t := range defaults {
		out = append(out, returnKey{tag: t})
	}
	for _, t := range explicit {
		out = append(out, returnKey{tag: t, explicit: true})
	}
	slices.SortStableFunc(out, func(a, b returnKey) int { return cmp.Compare(a.tag, b.tag) })
	merged := out[:0]
	for _, k := range out {
		if n := len(merged); n > 0 && merged[n-1].tag == k.tag {
			merged[n-1].explicit = merged[n-1].explicit || k.explicit
			continue
		}
		merged = append(merged, k)
	}
	return merged
}

// search answers QIDO-RS requests at level (PS3.18 10.6).
func (s *server) search(level index.Level) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sp, err := plan(level, r)
		if err != nil {
			httpError(w, http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "dicomweb: "))
			return
		}
		if !acceptsJSON(r) {
			httpError(w, http.StatusNotAcceptable, "search results are available as application/dicom+json only")
			return
		}
		h := w.Header()
		if len(sp.post) == 0 {
			n, err := s.arc.Count(ctx, sp.q)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			h.Set("X-Total-Count", strconv.Itoa(n))
		}
		for _, warn := range sp.warnings {
			h.Add("Warning", fmt.Sprintf("299 lightbox: %q", warn))
		}
		base := s.opts.BaseURL(r)
		var (
			out     io.WriteCloser
			aw      *dicomjson.ArrayWriter
			skipped int
		)
		for m, err := range s.arc.Search(ctx, sp.q) {
			if err != nil {
				if aw == nil {
					s.fail(w, r, err)
					return
				}
				s.abort(r, "search", err)
			}
			ds, ok := s.result(base, sp, m)
			if !ok {
				continue
			}
			if len(sp.post) > 0 {
				if skipped < sp.params.Offset {
					skipped++
					continue
				}
				if sp.params.Limit > 0 && aw != nil && aw.Count() >= sp.params.Limit {
					break
				}
			}
			if aw == nil {
				h.Set("Content-Type", dicomweb.MediaDICOMJSON)
				out = compressed(w, r)
				w.WriteHeader(http.StatusOK)
				aw = dicomjson.NewArrayWriter(out, dicomjson.Options{})
			}
			if err := aw.Write(ds); err != nil {
				s.abort(r, "search", err)
			}
		}
		if aw == nil {
			// PS3.18 10.6.3.1, Table 10.6.3-1: zero results are answered 204 (No Content).
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err := aw.Close(); err != nil {
			s.abort(r, "search", err)
		}
		if err := out.Close(); err != nil {
			s.abort(r, "search", err)
		}
	}
}

// acceptsJSON reports whether the Accept header allows application/dicom+json (or plain
// application/json, which user agents often ask for).
func acceptsJSON(r *http.Request) bool {
	for _, m := range dicomweb.ParseAccept(r.Header.Values("Accept")) {
		if m.Matches(dicomweb.MediaDICOMJSON) || m.Matches(dicomweb.MediaJSON) {
			return true
		}
	}
	return false
}

// result builds the answer of one match: the defaults of the level, the keys and includefield
// attributes, and RetrieveURL. It reports false when a key matched on the metadata fails.
func (s *server) result(base string, sp *searchPlan, m *index.Match) (*dicom.Dataset, bool) {
	var meta *dicom.Dataset
	metaDone := false
	metadata := func() *dicom.Dataset {
		if !metaDone {
			metaDone = true
			if m.Instance != nil && len(m.Instance.Metadata) > 0 {
				if md, err := archive.DecodeMeta(m.Instance.Metadata); err == nil {
					meta = md.Dataset
				} else {
					s.log.Warn("DICOMweb: unreadable metadata", "sop_uid", m.Instance.SOPInstanceUID, "err", err)
				}
			}
		}
		return meta
	}
	for _, k := range sp.post {
		md := metadata()
		stored := ""
		if md != nil {
			if e := md.Element(k.Tag); e != nil && !e.IsSequence() {
				stored = strings.Join(md.ElementStrings(e), `\`)
			}
		}
		if !index.MatchValue(k, stored, sp.q.CaseInsensitivePN, sp.q.FuzzyPN) {
			return nil, false
		}
	}
	out := &dicom.Dataset{Offset: -1, Elements: make([]dicom.Element, 0, len(sp.returned)+1)}
	out.SetString(tag.SpecificCharacterSet, vr.CS, "ISO_IR 192")
	set := func(t tag.Tag, explicit bool) {
		if out.Has(t) {
			return
		}
		switch t {
		case tag.SpecificCharacterSet:
			return
		case tag.RetrieveURL:
			out.SetString(t, vr.UR, retrieveURL(base, sp.level, m.Attrs))
			return
		case tag.InstanceAvailability:
			out.SetString(t, vr.CS, "ONLINE")
			return
		}
		if e := m.Attrs.Element(t); e != nil {
			out.Set(*e)
			return
		}
		if !explicit {
			return
		}
		if sp.level == index.Instance {
			if md := metadata(); md != nil {
				if e := md.Element(t); e != nil {
					copyElement(out, md, e)
					return
				}
			}
		}
		if sp.keys[t] {
			// A key without a value in the match is returned empty (PS3.4 C.2.2.1.3).
			v := vr.UN
			if info, ok := tag.Lookup(t); ok {
				v = info.VR
			}
			out.Set(dicom.Element{Tag: t, VR: v, Offset: -1})
		}
	}
	for _, k := range sp.returned {
		set(k.tag, k.explicit)
	}
	if sp.params.IncludeAll {
		for i := range m.Attrs.Elements {
			set(m.Attrs.Elements[i].Tag, false)
		}
		if sp.level == index.Instance {
			if md := metadata(); md != nil {
				for i := range md.Elements {
					if e := &md.Elements[i]; !out.Has(e.Tag) && e.Tag != tag.SpecificCharacterSet {
						copyElement(out, md, e)
					}
				}
			}
		}
	}
	return out, true
}

// copyElement copies e of src into dst (whose character set is UTF-8), re-encoding text that
// is not ASCII. Sequence items keep their own character set.
func copyElement(dst, src *dicom.Dataset, e *dicom.Element) {
	if e.IsSequence() || !e.ValueVR().IsString() || isASCII(e.Value) {
		dst.Set(*e)
		return
	}
	if err := dst.SetString(e.Tag, e.ValueVR(), src.ElementStrings(e)...); err != nil {
		dst.Set(dicom.Element{Tag: e.Tag, VR: e.VR, Offset: -1})
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == 0x1B {
			return false
		}
	}
	return true
}

// retrieveURL is the WADO-RS URL of a match (RetrieveURL, PS3.18 10.6.3.3).
func retrieveURL(base string, l index.Level, ds *dicom.Dataset) string {
	u := base + "/studies/" + ds.String(tag.StudyInstanceUID)
	if l >= index.Series {
		u += "/series/" + ds.String(tag.SeriesInstanceUID)
	}
	if l >= index.Instance {
		u += "/instances/" + ds.String(tag.SOPInstanceUID)
	}
	return u
}

// compressed returns the writer of a response body: gzip when the client accepts it.
func compressed(w http.ResponseWriter, r *http.Request) io.WriteCloser {
	w.Header().Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r) {
		return nopCloser{w}
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Del("Content-Length")
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	return gz
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// acceptsGzip reads Accept-Encoding (RFC 9110 12.5.3): gzip (or *) with a non-zero quality.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, item := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(item), ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "gzip" && name != "x-gzip" && name != "*" {
				continue
			}
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
					if f, err := strconv.ParseFloat(v, 64); err == nil {
						q = f
					}
				}
			}
			return q > 0
		}
	}
	return false
}
