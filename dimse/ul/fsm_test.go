package ul

import (
	"strings"
	"testing"
)

// table9_10 is PS3.8 Table 9-10, typed from the standard: one line per
// event, one column per state Sta1 to Sta13; "." is a blank cell.
const table9_10 = `
Evt1   AE-1 .    .    .    .    .    .    .    .    .     .     .     .
Evt2   .    .    .    AE-2 .    .    .    .    .    .     .     .     .
Evt3   .    AA-1 AA-8 .    AE-3 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt4   .    AA-1 AA-8 .    AE-4 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt5   AE-5 .    .    .    .    .    .    .    .    .     .     .     .
Evt6   .    AE-6 AA-8 .    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-7
Evt7   .    .    AE-7 .    .    .    .    .    .    .     .     .     .
Evt8   .    .    AE-8 .    .    .    .    .    .    .     .     .     .
Evt9   .    .    .    .    .    DT-1 .    AR-7 .    .     .     .     .
Evt10  .    AA-1 AA-8 .    AA-8 DT-2 AR-6 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt11  .    .    .    .    .    AR-1 .    .    .    .     .     .     .
Evt12  .    AA-1 AA-8 .    AA-8 AR-2 AR-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt13  .    AA-1 AA-8 .    AA-8 AA-8 AR-3 AA-8 AA-8 AR-10 AR-3  AA-8  AA-6
Evt14  .    .    .    .    .    .    .    AR-4 AR-9 .     .     AR-4  .
Evt15  .    .    AA-1 AA-2 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1  AA-1  AA-1  .
Evt16  .    AA-2 AA-3 .    AA-3 AA-3 AA-3 AA-3 AA-3 AA-3  AA-3  AA-3  AA-2
Evt17  .    AA-5 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4  AA-4  AA-4  AR-5
Evt18  .    AA-2 .    .    .    .    .    .    .    .     .     .     AA-2
Evt19  .    AA-1 AA-8 .    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-7
`

func TestTable9_10(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(table9_10), "\n")
	if len(lines) != 19 {
		t.Fatalf("%d lines, want 19", len(lines))
	}
	cells := 0
	for i, line := range lines {
		f := strings.Fields(line)
		e := Event(i + 1)
		if f[0] != e.String() {
			t.Fatalf("line %d is %s, want %s", i+1, f[0], e)
		}
		if len(f) != 14 {
			t.Fatalf("%s: %d columns, want 13", e, len(f)-1)
		}
		for j, want := range f[1:] {
			s := State(j + 1)
			if want == "." {
				want = "-"
			}
			if got := Cell(s, e).String(); got != want {
				t.Errorf("%s %s: Cell = %s, want %s", e, s, got, want)
			}
			cells++
		}
	}
	if cells != 19*13 {
		t.Errorf("checked %d cells", cells)
	}
}

// TestNextState checks the next state of each action against Tables 9-6
// to 9-9.
func TestNextState(t *testing.T) {
	tests := []struct {
		action Action
		role   Role
		want   State
	}{
		{AE1, Requestor, Sta4}, {AE2, Requestor, Sta5}, {AE3, Requestor, Sta6}, {AE4, Requestor, Sta1},
		{AE5, Acceptor, Sta2}, {AE6, Acceptor, Sta3}, {AE7, Acceptor, Sta6}, {AE8, Acceptor, Sta13},
		{DT1, Requestor, Sta6}, {DT2, Acceptor, Sta6},
		{AR1, Requestor, Sta7}, {AR2, Acceptor, Sta8}, {AR3, Requestor, Sta1}, {AR4, Acceptor, Sta13},
		{AR5, Acceptor, Sta1}, {AR6, Requestor, Sta7}, {AR7, Acceptor, Sta8},
		{AR8, Requestor, Sta9}, {AR8, Acceptor, Sta10},
		{AR9, Requestor, Sta11}, {AR10, Acceptor, Sta12},
		{AA1, Requestor, Sta13}, {AA2, Acceptor, Sta1}, {AA3, Requestor, Sta1}, {AA4, Requestor, Sta1},
		{AA5, Acceptor, Sta1}, {AA6, Acceptor, Sta13}, {AA7, Acceptor, Sta13}, {AA8, Requestor, Sta13},
	}
	for _, tc := range tests {
		if got := NextState(tc.action, Sta6, tc.role); got != tc.want {
			t.Errorf("NextState(%s, %s) = %s, want %s", tc.action, tc.role, got, tc.want)
		}
	}
	if got := NextState(NoAction, Sta7, Acceptor); got != Sta7 {
		t.Errorf("NoAction moved Sta7 to %s", got)
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		s     State
		e     Event
		r     Role
		wantA Action
		wantS State
	}{
		{Sta1, Evt1, Requestor, AE1, Sta4},
		{Sta4, Evt2, Requestor, AE2, Sta5},
		{Sta5, Evt3, Requestor, AE3, Sta6},
		{Sta1, Evt5, Acceptor, AE5, Sta2},
		{Sta2, Evt6, Acceptor, AE6, Sta3},
		{Sta3, Evt7, Acceptor, AE7, Sta6},
		{Sta7, Evt12, Requestor, AR8, Sta9},
		{Sta7, Evt12, Acceptor, AR8, Sta10},
		{Sta9, Evt14, Requestor, AR9, Sta11},
		{Sta11, Evt13, Requestor, AR3, Sta1},
		{Sta10, Evt13, Acceptor, AR10, Sta12},
		{Sta12, Evt14, Acceptor, AR4, Sta13},
		{Sta13, Evt17, Acceptor, AR5, Sta1},
		{Sta6, Evt19, Acceptor, AA8, Sta13},
		{Sta6, Evt1, Acceptor, NoAction, Sta6},
		{State(0), Evt1, Acceptor, NoAction, State(0)},
		{Sta1, Event(20), Acceptor, NoAction, Sta1},
	}
	for _, tc := range tests {
		a, s := Next(tc.s, tc.e, tc.r)
		if a != tc.wantA || s != tc.wantS {
			t.Errorf("Next(%s, %s, %s) = %s, %s; want %s, %s", tc.s, tc.e, tc.r, a, s, tc.wantA, tc.wantS)
		}
	}
}

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{Sta1.String(), "Sta1"}, {Sta13.String(), "Sta13"}, {State(14).String(), "State(14)"},
		{Evt1.String(), "Evt1"}, {Evt19.String(), "Evt19"}, {Event(0).String(), "Event(0)"},
		{AE1.String(), "AE-1"}, {AE8.String(), "AE-8"}, {DT1.String(), "DT-1"}, {DT2.String(), "DT-2"},
		{AR1.String(), "AR-1"}, {AR10.String(), "AR-10"}, {AA1.String(), "AA-1"}, {AA8.String(), "AA-8"},
		{NoAction.String(), "-"}, {Action(99).String(), "Action(99)"},
		{Requestor.String(), "requestor"}, {Acceptor.String(), "acceptor"},
		{Sta6.Description(), "Association established and ready for data transfer"},
		{Evt18.Description(), "ARTIM timer expired (Association reject/release timer)"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	for s := Sta1; s <= Sta13; s++ {
		if s.Description() == s.String() {
			t.Errorf("%s has no description", s)
		}
	}
	for e := Evt1; e <= Evt19; e++ {
		if e.Description() == e.String() {
			t.Errorf("%s has no description", e)
		}
	}
}
