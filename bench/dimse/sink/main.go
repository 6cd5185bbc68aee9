// Command sink is a DIMSE storage SCP that discards what it receives: a dimse.Server whose
// C-STORE handler reads each data set to its end, drops it and answers success. It measures the
// protocol's cost alone, the way DCMTK's `storescp --ignore` does, for bench/dimse/run.sh.
//
//	sink [-addr 127.0.0.1:11112] [-aet SINK] [-maxpdu N]
//
// It serves until SIGTERM or SIGINT, then shuts down and prints how many instances and bytes it
// received.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:11112", "address to listen on")
	aet := flag.String("aet", "SINK", "AE title to answer to (empty: any)")
	maxPDU := flag.Uint("maxpdu", 0, "maximum PDU length to advertise (0: the library's default)")
	verbose := flag.Bool("v", false, "log associations")
	flag.Parse()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var instances, bytes atomic.Int64
	mux := dimse.NewServeMux()
	mux.HandleFunc(dimse.CStoreRQ, func(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
		n, err := io.Copy(io.Discard, r.Data)
		bytes.Add(n)
		if err != nil {
			w.Respond(ctx, dimse.Response{Status: dimse.StatusOutOfResources, ErrorComment: err.Error()})
			return
		}
		instances.Add(1)
		w.Respond(ctx, dimse.Response{Status: dimse.StatusSuccess})
	}, dimse.StorageSOPClasses()...)
	srv := &dimse.Server{AETitle: *aet, Handler: mux, Logger: log, Config: ul.Config{MaxPDULength: uint32(*maxPDU)}}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe(*addr) }()
	select {
	case err := <-served:
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "sink: shutdown:", err)
	}
	if err := <-served; !errors.Is(err, dimse.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "sink:", err)
	}
	fmt.Printf("received %d instances, %d bytes\n", instances.Load(), bytes.Load())
}
