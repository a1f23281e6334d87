// Command quicgo-peer is kquic's interop peer built on quic-go: a client and
// a server that move bytes over one bidirectional stream and report what
// happened as JSON lines on standard output.
//
// The exchange: the client opens a stream and writes "<up> <down>\n", then
// <up> bytes of the pattern (byte i is i % 251), then ends the stream.  The
// server reads all of it, answers "<sha256 of the upload in hex>\n" followed
// by <down> bytes of the pattern, and ends its side.
//
// Server lines: {"event":"listening","port":P} once bound, then per
// connection {"event":"conn",...} and, from the transport, {"event":"retry"}
// and {"event":"version_negotiation","versions":[...]} for each such packet
// sent.  The client prints a single line: {"event":"done",...} on success, or
// {"event":"error",...} and exits with status 1.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/logging"
)

const patternPeriod = 251

type options struct {
	mode     string
	addr     string
	cert     string
	key      string
	ca       string
	alpn     string
	sni      string
	retry    bool
	versions []quic.Version
	upload   int64
	download int64
	timeout  time.Duration
}

// output serialises the JSON lines of concurrent connections.
type output struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (o *output) emit(v map[string]any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_ = o.enc.Encode(v)
}

func parseVersions(s string) ([]quic.Version, error) {
	if s == "" {
		return nil, nil
	}
	var out []quic.Version
	for _, f := range strings.Split(s, ",") {
		switch f {
		case "v1":
			out = append(out, quic.Version1)
		case "v2":
			out = append(out, quic.Version2)
		default:
			n, err := strconv.ParseUint(f, 0, 32)
			if err != nil {
				return nil, fmt.Errorf("bad version %q", f)
			}
			out = append(out, quic.Version(n))
		}
	}
	return out, nil
}

func versionStrings(vs []logging.Version) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, fmt.Sprintf("0x%x", uint32(v)))
	}
	return out
}

// pattern writes n bytes of the deterministic pattern to w.
func pattern(w io.Writer, n int64) error {
	var block [patternPeriod * 64]byte
	for i := range block {
		block[i] = byte(i % patternPeriod)
	}
	for n > 0 {
		chunk := int64(len(block))
		if n < chunk {
			chunk = n
		}
		if _, err := w.Write(block[:chunk]); err != nil {
			return err
		}
		n -= chunk
	}
	return nil
}

func loadTLS(o *options, server bool) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS13, NextProtos: []string{o.alpn}}
	if server {
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, err
		}
		conf.Certificates = []tls.Certificate{pair}
		return conf, nil
	}
	pem, err := os.ReadFile(o.ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", o.ca)
	}
	conf.RootCAs = pool
	conf.ServerName = o.sni
	return conf, nil
}

func quicConfig(o *options) *quic.Config {
	return &quic.Config{
		Versions:             o.versions,
		HandshakeIdleTimeout: o.timeout,
		MaxIdleTimeout:       o.timeout,
	}
}

func runServer(o *options, out *output) error {
	tlsConf, err := loadTLS(o, true)
	if err != nil {
		return err
	}
	uaddr, err := net.ResolveUDPAddr("udp", o.addr)
	if err != nil {
		return err
	}
	udp, err := net.ListenUDP("udp", uaddr)
	if err != nil {
		return err
	}
	tr := &quic.Transport{
		Conn: udp,
		Tracer: &logging.Tracer{
			SentPacket: func(_ net.Addr, h *logging.Header, _ logging.ByteCount, _ []logging.Frame) {
				if logging.PacketTypeFromHeader(h) == logging.PacketTypeRetry {
					out.emit(map[string]any{"event": "retry"})
				}
			},
			SentVersionNegotiationPacket: func(_ net.Addr, _, _ logging.ArbitraryLenConnectionID,
				vs []logging.Version) {
				out.emit(map[string]any{"event": "version_negotiation",
					"versions": versionStrings(vs)})
			},
		},
	}
	if o.retry {
		tr.VerifySourceAddress = func(net.Addr) bool { return true }
	}
	ln, err := tr.Listen(tlsConf, quicConfig(o))
	if err != nil {
		return err
	}
	out.emit(map[string]any{"event": "listening", "port": udp.LocalAddr().(*net.UDPAddr).Port})
	for {
		conn, err := ln.Accept(context.Background())
		if err != nil {
			return err
		}
		go serveConn(conn, o, out)
	}
}

func serveConn(conn quic.Connection, o *options, out *output) {
	state := conn.ConnectionState()
	report := map[string]any{
		"event":   "conn",
		"version": fmt.Sprintf("0x%x", uint32(state.Version)),
		"alpn":    state.TLS.NegotiatedProtocol,
	}
	err := answer(conn, o, report)
	if err != nil {
		report["error"] = err.Error()
		_ = conn.CloseWithError(1, "peer error")
	}
	out.emit(report)
}

func answer(conn quic.Connection, o *options, report map[string]any) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	stream, err := conn.AcceptStream(ctx)
	if err != nil {
		return err
	}
	r := bufio.NewReader(stream)
	line, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("request line: %w", err)
	}
	var up, down int64
	if _, err := fmt.Sscanf(line, "%d %d", &up, &down); err != nil {
		return fmt.Errorf("request line %q: %w", line, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if n != up {
		return fmt.Errorf("upload: %d bytes, announced %d", n, up)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	report["upload_bytes"] = n
	report["upload_sha256"] = sum
	w := bufio.NewWriterSize(stream, 64*1024)
	if _, err := fmt.Fprintf(w, "%s\n", sum); err != nil {
		return err
	}
	if err := pattern(w, down); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	report["download_bytes"] = down
	if err := stream.Close(); err != nil {
		return err
	}
	// the client closes the connection once it has read everything
	<-conn.Context().Done()
	return nil
}

func runClient(o *options, out *output) error {
	tlsConf, err := loadTLS(o, false)
	if err != nil {
		return err
	}
	report := map[string]any{"event": "done", "retry": false}
	var mu sync.Mutex
	conf := quicConfig(o)
	conf.Tracer = func(context.Context, logging.Perspective, quic.ConnectionID) *logging.ConnectionTracer {
		return &logging.ConnectionTracer{
			ReceivedRetry: func(*logging.Header) {
				mu.Lock()
				report["retry"] = true
				mu.Unlock()
			},
			ReceivedVersionNegotiationPacket: func(_, _ logging.ArbitraryLenConnectionID,
				vs []logging.Version) {
				mu.Lock()
				report["version_negotiation"] = versionStrings(vs)
				mu.Unlock()
			},
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	conn, err := quic.DialAddr(ctx, o.addr, tlsConf, conf)
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		var vnErr *quic.VersionNegotiationError
		report["version_negotiation_error"] = errors.As(err, &vnErr)
		return reportError(out, report, err)
	}
	state := conn.ConnectionState()
	err = exchange(ctx, conn, o, report, &mu)
	mu.Lock()
	defer mu.Unlock()
	report["version"] = fmt.Sprintf("0x%x", uint32(state.Version))
	report["alpn"] = state.TLS.NegotiatedProtocol
	if err != nil {
		_ = conn.CloseWithError(1, "peer error")
		return reportError(out, report, err)
	}
	_ = conn.CloseWithError(0, "")
	out.emit(report)
	return nil
}

func exchange(ctx context.Context, conn quic.Connection, o *options, report map[string]any,
	mu *sync.Mutex) error {
	stream, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		stream.CancelRead(1)
	}()
	w := bufio.NewWriterSize(stream, 64*1024)
	if _, err := fmt.Fprintf(w, "%d %d\n", o.upload, o.download); err != nil {
		return err
	}
	h := sha256.New()
	if err := pattern(io.MultiWriter(w, h), o.upload); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := stream.Close(); err != nil {
		return err
	}
	r := bufio.NewReader(stream)
	line, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("answer line: %w", err)
	}
	echoed := strings.TrimSpace(line)
	dh := sha256.New()
	n, err := io.Copy(dh, r)
	mu.Lock()
	defer mu.Unlock()
	report["upload_bytes"] = o.upload
	report["upload_sha256"] = hex.EncodeToString(h.Sum(nil))
	report["echoed_sha256"] = echoed
	report["download_bytes"] = n
	report["download_sha256"] = hex.EncodeToString(dh.Sum(nil))
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	return nil
}

func reportError(out *output, report map[string]any, err error) error {
	report["event"] = "error"
	report["error"] = err.Error()
	out.emit(report)
	return err
}

func main() {
	o := &options{}
	var versions string
	flag.StringVar(&o.mode, "mode", "", "client or server")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:0", "server: address to bind; client: server address")
	flag.StringVar(&o.cert, "cert", "", "server certificate (PEM)")
	flag.StringVar(&o.key, "key", "", "server private key (PEM)")
	flag.StringVar(&o.ca, "ca", "", "client: CA certificate that signed the server's (PEM)")
	flag.StringVar(&o.alpn, "alpn", "quicgo", "the ALPN to offer or accept")
	flag.StringVar(&o.sni, "sni", "localhost", "client: server name to send and check")
	flag.BoolVar(&o.retry, "retry", false, "server: validate every client address with Retry")
	flag.StringVar(&versions, "versions", "",
		"comma-separated QUIC versions (v1, v2 or numbers), preferred first; default quic-go's")
	flag.Int64Var(&o.upload, "upload", 0, "client: bytes to send")
	flag.Int64Var(&o.download, "download", 0, "client: bytes to ask for")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Second, "handshake, idle and exchange timeout")
	flag.Parse()
	out := &output{enc: json.NewEncoder(os.Stdout)}
	var err error
	o.versions, err = parseVersions(versions)
	if err == nil {
		switch o.mode {
		case "server":
			err = runServer(o, out)
		case "client":
			err = runClient(o, out)
			if err != nil {
				os.Exit(1)
			}
		default:
			err = errors.New("-mode must be client or server")
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quicgo-peer:", err)
		os.Exit(2)
	}
}
