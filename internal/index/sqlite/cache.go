package sqlite

// ecache is the writer's memory of the patients, studies and series it wrote or read: their
// keys and attribute values as indexed, so that a Put into a known series reads nothing back
// (the instances of a series arrive together). It is owned by the writer goroutine and mirrors
// the database only while every write goes through the writer and succeeds: a write that fails
// (rolled back to its savepoint, or the transaction rolled back) and writes other than Put
// (Replace, Delete) clear it.
type ecache struct {
	series  map[string]*seriesEntry // by Series Instance UID
	studies map[int64]*studyEntry   // by pk
	patient map[int64][]string      // attribute values (levelAttrs order), by pk
}

type seriesEntry struct {
	r                    ref // series, study, patient
	studyUID, pid, issue string
	cols                 []string
}

type studyEntry struct {
	cols []string
	// modalities_in_study and sop_classes_in_study as indexed, if known.
	computed      bool
	mods, classes string
}

// maxCached bounds the series cached; beyond it the cache starts again empty.
const maxCached = 4096

func newECache() *ecache {
	c := &ecache{}
	c.clear()
	return c
}

func (c *ecache) clear() {
	c.series = map[string]*seriesEntry{}
	c.studies = map[int64]*studyEntry{}
	c.patient = map[int64][]string{}
}

func (c *ecache) study(pk int64) *studyEntry {
	e := c.studies[pk]
	if e == nil {
		e = &studyEntry{}
		c.studies[pk] = e
	}
	return e
}

// cols returns the cached attribute values of the entity of r at level l (nil if unknown).
func (c *ecache) cols(l int, r ref, seriesUID string) []string {
	switch l {
	case 0:
		return c.patient[r.patient]
	case 1:
		if e := c.studies[r.study]; e != nil {
			return e.cols
		}
	case 2:
		if e := c.series[seriesUID]; e != nil && e.r.series == r.series {
			return e.cols
		}
	}
	return nil
}

// setCols records the attribute values of the entity of r at level l as indexed.
func (c *ecache) setCols(l int, r ref, seriesUID string, cols []string) {
	cols = append([]string(nil), cols...)
	switch l {
	case 0:
		c.patient[r.patient] = cols
	case 1:
		c.study(r.study).cols = cols
	case 2:
		if e := c.series[seriesUID]; e != nil && e.r.series == r.series {
			e.cols = cols
		}
	}
}
