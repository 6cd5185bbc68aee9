// Command lightbox is the Lightbox PACS: the archive server and the tools around it.
//
//	lightbox <command> [flags] [arguments]
//
// Run `lightbox help` for the list of commands and `lightbox <command> --help` for each one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a command sees of the process: its streams, so tests can run commands in-process.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
}

// exitError carries a process exit status for errors already reported to the user.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func commands() []command {
	return []command{
		{"dump", "print the elements of DICOM files, or their DICOM JSON", runDump},
		{"serve", "run the archive: DICOM (C-STORE, C-FIND, C-MOVE, C-GET) and HTTP", runServe},
		{"import", "import DICOM files into the archive without the network", runImport},
		{"ls", "list the studies (or a study's series) in the archive", runLs},
		{"stats", "count what the archive holds", runStats},
		{"delete", "delete a study, series or instance from the archive", runDelete},
		{"echo", "check that a DICOM peer answers (C-ECHO)", runEcho},
		{"send", "send DICOM files to a peer (C-STORE)", runSend},
		{"find", "query a peer (C-FIND)", runFind},
		{"move", "have a peer send instances to an AE title (C-MOVE)", runMove},
		{"get", "retrieve instances from a peer into a directory (C-GET)", runGet},
		{"transcode", "write DICOM files in another transfer syntax", runTranscode},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile(os.Getenv("LIGHTBOX_CPUPROFILE"))
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv}, os.Args[1:])
	stopProfile()
	stop()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of the whole command to path (a diagnostic for
// administrators and developers: `LIGHTBOX_CPUPROFILE=serve.pprof lightbox serve`, then `go tool
// pprof`); it returns the function that finishes the profile. An empty path profiles nothing.
func startCPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lightbox: LIGHTBOX_CPUPROFILE: %v (no profile written)\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "lightbox: LIGHTBOX_CPUPROFILE: %v\n", err)
		}
	}
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			return run(ctx, e, []string{args[1], "--help"})
		}
		usage(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.code
		default:
			fmt.Fprintf(e.stderr, "lightbox %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "lightbox: unknown command %q; run 'lightbox help' for the list\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Lightbox %s — a PACS: archive, DICOM networking, DICOMweb.\n\nUsage:\n  lightbox <command> [flags] [arguments]\n\nCommands:\n", version)
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'lightbox <command> --help' for a command's flags.\n")
}

// newFlags returns a flag set that prints a helpful usage message for a command.
func newFlags(e *env, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: lightbox %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(description))
		var has bool
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintf(e.stderr, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "version", "", "Print the version of this build.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "lightbox %s\n", version)
	return nil
}
