package dimse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
)

// message is one DIMSE message as read: its command, the presentation context it came on, and
// the stream of its data set when one follows.
type message struct {
	cmd  *Command
	pc   ul.PresentationContext
	data *ul.Stream
}

// readMessage reads the next command from a and, when the command says a data set follows, opens
// the data set's stream without reading it (PS3.7 6.3.1: the data set follows its command on the
// same presentation context).
func readMessage(ctx context.Context, a *ul.Association) (*message, error) {
	s, err := a.ReadStream(ctx)
	if err != nil {
		return nil, err
	}
	if !s.Command {
		a.Abort()
		return nil, fmt.Errorf("%w: a data set arrived where a command was expected", ul.ErrProtocol)
	}
	raw, err := io.ReadAll(io.LimitReader(s, maxCommandSize+1))
	if err != nil {
		return nil, err
	}
	cmd, err := DecodeCommand(raw)
	if err != nil {
		a.Abort()
		return nil, err
	}
	pc, _ := a.Context(s.ContextID)
	m := &message{cmd: cmd, pc: pc}
	if cmd.HasDataSet {
		d, err := a.ReadStream(ctx)
		if err != nil {
			return nil, err
		}
		if d.Command || d.ContextID != s.ContextID {
			a.Abort()
			return nil, fmt.Errorf("%w: the data set of %s did not follow it on its presentation context", ul.ErrProtocol, cmd.Field)
		}
		m.data = d
	}
	return m, nil
}

// sendMessage sends cmd, then the data set read from data, on presentation context id. The
// association lets one sender at a time through, so a command and its data set stay together
// as long as callers serialise on mu.
func sendMessage(ctx context.Context, a *ul.Association, mu *sync.Mutex, id byte, cmd *Command, data io.Reader) error {
	cmd.HasDataSet = data != nil
	mu.Lock()
	defer mu.Unlock()
	if err := a.Send(ctx, id, true, EncodeCommand(cmd)); err != nil {
		return err
	}
	if data != nil {
		return a.WriteStream(ctx, id, false, data)
	}
	return nil
}

// encodeDataset encodes ds for a presentation context's transfer syntax.
func encodeDataset(ds *dicom.Dataset, syntax string) (io.Reader, error) {
	var b bytes.Buffer
	if err := dicom.WriteDataset(&b, ds, syntax, dicom.WriteOptions{}); err != nil {
		return nil, err
	}
	return &b, nil
}

// ErrDataSetTooLarge is returned by a Request's data reader when the data set exceeds the
// server's MaxDataSetSize.
var ErrDataSetTooLarge = errors.New("dimse: data set larger than allowed")

// limitReader fails with ErrDataSetTooLarge beyond max bytes.
type limitReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.max > 0 && l.n >= l.max {
		var one [1]byte
		if m, err := l.r.Read(one[:]); m == 0 && err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w (%d bytes)", ErrDataSetTooLarge, l.max)
	}
	if l.max > 0 && int64(len(p)) > l.max-l.n {
		p = p[:l.max-l.n]
	}
	m, err := l.r.Read(p)
	l.n += int64(m)
	return m, err
}

// parseIdentifier reads a whole (small) data set such as a query identifier.
func parseIdentifier(r io.Reader, syntax string, max int64) (*dicom.Dataset, error) {
	if max <= 0 {
		max = 16 << 20
	}
	raw, err := io.ReadAll(&limitReader{r: r, max: max})
	if err != nil {
		return nil, err
	}
	return dicom.ParseDataset(raw, syntax, dicom.ReadOptions{})
}
