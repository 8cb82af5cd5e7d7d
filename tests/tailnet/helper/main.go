// Command tailnet-helper is the control side of the test suite's real
// tailnet: Tailscale's own test control plane (tstest/integration/testcontrol,
// adapted by testcontrol.patch), a DERP server, an ACME server (Pebble) and
// the DNS server Pebble checks DNS-01 challenges against, in one process.
//
// Real tailscale and tailscaled binaries talk to it as they would to
// controlplane.tailscale.com, a DERP region and Let's Encrypt. It keeps no
// tailnet of its own: every register request is decided by clawprov's
// Tailscale API simulator (POST /sim/tailscale/join, the same call the
// stand-ins made), so a node joins only with a key minted there and gets the
// id, name, addresses and tags the simulator's device list shows. Stream
// starts and ends go back as online state (/sim/tailscale/seen), and a
// device deleted through the API is deleted here (the helper polls
// /sim/tailscale/machines).
//
// The helper writes STATE/ready.json once every listener is up:
//
//	{"pid", "control_url", "control_tls_url", "derp", "acme_directory",
//	 "acme_root", "ca", "admin"}
//
// Admin endpoints (plain HTTP on -admin): GET /nodes (the control plane's
// node list as JSON), GET /dns (the TXT records nodes set), POST /faults
// {"untagged": bool} (from now on, nodes register without their tags: a
// control plane that lost them, for a test to watch the scenario catch it).
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"clawprov.test/tailnet/testcontrol"
	"tailscale.com/derp/derpserver"
	"tailscale.com/tailcfg"
	"tailscale.com/types/key"
)

type options struct {
	state      string
	listen     string
	control    int
	controlTLS int
	derp       int
	acme       int
	dnsPort    int
	admin      int
	sim        string
	domain     string
	names      string
	caCert     string
	caKey      string
}

func main() {
	var o options
	flag.StringVar(&o.state, "state", "", "directory for ready.json, the generated CA and the ACME root (required)")
	flag.StringVar(&o.listen, "listen", "127.0.0.1", "address every listener binds")
	flag.IntVar(&o.control, "control", 0, "control plane, plain HTTP (0: any free port)")
	flag.IntVar(&o.controlTLS, "control-tls", -1, "control plane, HTTPS (-1: none, 0: any free port)")
	flag.IntVar(&o.derp, "derp", 0, "DERP over TLS")
	flag.IntVar(&o.acme, "acme", 0, "ACME directory over TLS")
	flag.IntVar(&o.dnsPort, "dns", 0, "DNS over TCP, for the ACME server's DNS-01 checks")
	flag.IntVar(&o.admin, "admin", 0, "admin endpoints, plain HTTP")
	flag.StringVar(&o.sim, "sim", "", "base URL of clawprov's Tailscale API simulator (required)")
	flag.StringVar(&o.domain, "magic-dns-domain", "", "the tailnet's MagicDNS domain, e.g. tail1234.ts.net (required)")
	flag.StringVar(&o.names, "tls-names", "controlplane.tailscale.com,acme.test,derp.test", "DNS names in the helper's TLS certificate (beside -listen)")
	flag.StringVar(&o.caCert, "ca-cert", "", "CA certificate (PEM) signing the helper's TLS certificate; empty: a new CA in STATE/ca.pem")
	flag.StringVar(&o.caKey, "ca-key", "", "the CA's private key (PEM)")
	flag.Parse()
	if o.state == "" || o.sim == "" || o.domain == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(o); err != nil {
		log.Fatalf("tailnet-helper: %v", err)
	}
}

func run(o options) error {
	if err := os.MkdirAll(o.state, 0o700); err != nil {
		return err
	}
	listenIP, err := netip.ParseAddr(o.listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	authority, err := loadOrMakeCA(o)
	if err != nil {
		return err
	}
	names := []string{}
	for _, n := range strings.Split(o.names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	serverCert, err := authority.issue(names, listenIP)
	if err != nil {
		return err
	}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{serverCert}}
	listen := func(port int) (net.Listener, error) {
		return net.Listen("tcp", netip.AddrPortFrom(listenIP, uint16(port)).String())
	}
	portOf := func(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

	// DERP, over TLS; the DERP map says InsecureForTests so the nodes
	// skip its certificate check. No STUN: the VM reaches the helper over
	// TCP only, so every packet goes through DERP.
	derpLn, err := listen(o.derp)
	if err != nil {
		return fmt.Errorf("DERP listener: %w", err)
	}
	derp := derpserver.New(key.NewNode(), log.Printf)
	derpSrv := &http.Server{
		Handler:      derpserver.AddWebSocketSupport(derp, derpserver.Handler(derp)),
		TLSConfig:    tlsConfig.Clone(),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go serveTLS(derpSrv, derpLn, "DERP")
	derpMap := &tailcfg.DERPMap{Regions: map[int]*tailcfg.DERPRegion{
		1: {RegionID: 1, RegionCode: "clawprov", RegionName: "clawprov test", Nodes: []*tailcfg.DERPNode{{
			Name:             "1a",
			RegionID:         1,
			HostName:         o.listen,
			IPv4:             o.listen,
			IPv6:             "none",
			DERPPort:         portOf(derpLn),
			STUNPort:         -1,
			InsecureForTests: true,
		}}},
	}}

	// DNS: the TXT records nodes set through the control plane, served
	// for Pebble's DNS-01 validation.
	records := &txtRecords{m: map[string][]string{}}
	dnsLn, err := listen(o.dnsPort)
	if err != nil {
		return fmt.Errorf("DNS listener: %w", err)
	}
	go func() {
		srv := &dns.Server{Listener: dnsLn, Net: "tcp", Handler: records}
		log.Printf("DNS: %v", srv.ActivateAndServe())
	}()

	// ACME: Pebble, validating DNS-01 against the helper's DNS.
	os.Setenv("PEBBLE_VA_NOSLEEP", "1")
	os.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	logger := log.New(os.Stderr, "pebble ", log.LstdFlags)
	store := db.NewMemoryStore()
	pebbleCA := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "clawprov test profile"},
	})
	validator := va.New(logger, 80, 443, false, netip.AddrPortFrom(listenIP, uint16(portOf(dnsLn))).String(), store)
	front := wfe.New(logger, store, validator, pebbleCA, []string{"pebble.letsencrypt.org"}, false, false, 3, 5)
	acmeLn, err := listen(o.acme)
	if err != nil {
		return fmt.Errorf("ACME listener: %w", err)
	}
	go serveTLS(&http.Server{Handler: orderLocation(front.Handler()), TLSConfig: tlsConfig.Clone()}, acmeLn, "ACME")
	acmeRoot := filepath.Join(o.state, "acme-root.pem")
	if err := writeFile(acmeRoot, pebbleCA.GetRootCert(0).PEM()); err != nil {
		return err
	}

	// The control plane.
	sim := &simClient{base: strings.TrimSuffix(o.sim, "/"), http: &http.Client{Timeout: 10 * time.Second}, faults: &faults{}}
	online := &onlineCount{n: map[tailcfg.NodeID]int{}}
	control := &testcontrol.Server{
		DERPMap:          derpMap,
		MagicDNSDomain:   o.domain,
		DNSConfig:        &tailcfg.DNSConfig{Proxied: true, Domains: []string{o.domain}},
		AllNodesSameUser: true,
		Logf:             log.Printf,
		OnRegister: func(req *tailcfg.RegisterRequest, mkey key.MachinePublic, known *tailcfg.Node) (*testcontrol.Registration, error) {
			return sim.register(req, mkey, known)
		},
		OnStream: func(node *tailcfg.Node, streaming bool) {
			if changed := online.add(node.ID, streaming); changed {
				sim.seen(node.Machine, streaming)
			}
		},
		OnSetDNS: func(req *tailcfg.SetDNSRequest) error {
			if req.Type != "TXT" {
				return fmt.Errorf("record type %q: only TXT", req.Type)
			}
			records.add(req.Name, req.Value)
			return nil
		},
	}
	controlLn, err := listen(o.control)
	if err != nil {
		return fmt.Errorf("control listener: %w", err)
	}
	controlURL := "http://" + controlLn.Addr().String()
	control.ExplicitBaseURL = controlURL
	go func() { log.Printf("control: %v", http.Serve(controlLn, control)) }()
	controlTLSURL := ""
	if o.controlTLS >= 0 {
		ln, err := listen(o.controlTLS)
		if err != nil {
			return fmt.Errorf("control TLS listener: %w", err)
		}
		controlTLSURL = "https://" + ln.Addr().String()
		go serveTLS(&http.Server{Handler: control, TLSConfig: tlsConfig.Clone()}, ln, "control TLS")
	}
	go sim.reapDeleted(control)

	// Admin.
	adminLn, err := listen(o.admin)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /nodes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, nodesJSON(control.AllNodes(), online))
	})
	mux.HandleFunc("GET /dns", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, records.snapshot())
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var f struct {
			Untagged bool `json:"untagged"`
		}
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sim.faults.set(f.Untagged)
		log.Printf("faults: untagged=%v", f.Untagged)
		w.WriteHeader(http.StatusNoContent)
	})
	go func() { log.Printf("admin: %v", http.Serve(adminLn, mux)) }()

	ready := map[string]any{
		"pid":             os.Getpid(),
		"control_url":     controlURL,
		"control_tls_url": controlTLSURL,
		"derp":            derpLn.Addr().String(),
		"acme_directory":  "https://" + acmeLn.Addr().String() + wfe.DirectoryPath,
		"acme_root":       acmeRoot,
		"ca":              authority.certPath,
		"admin":           "http://" + adminLn.Addr().String(),
	}
	doc, _ := json.MarshalIndent(ready, "", "  ")
	if err := writeFile(filepath.Join(o.state, "ready.json"), doc); err != nil {
		return err
	}
	log.Printf("ready: %s", doc)
	select {}
}

// orderLocation adds the order's URL as Location to a finalize answer.
// Let's Encrypt sends it (RFC 8555 section 7.4's example does too); Pebble
// v2.10.3 does not, and finalizes asynchronously, so golang.org/x/crypto/acme
// (tailscaled's ACME client) would poll an empty URL: "CreateOrder: Post "":
// unsupported protocol scheme".
func orderLocation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := strings.CutPrefix(r.URL.Path, "/finalize-order/"); ok && r.Method == http.MethodPost {
			w.Header().Set("Location", "https://"+r.Host+"/my-order/"+id)
		}
		next.ServeHTTP(w, r)
	})
}

func serveTLS(srv *http.Server, ln net.Listener, what string) {
	srv.ErrorLog = log.New(os.Stderr, what+": ", log.LstdFlags)
	log.Printf("%s: %v", what, srv.ServeTLS(ln, "", ""))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// writeFile writes through a temporary name, so a reader never sees half.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// --- The simulator: the tailnet's source of truth. ---

type simClient struct {
	base   string
	http   *http.Client
	faults *faults
}

type faults struct {
	mu       sync.Mutex
	untagged bool
}

func (f *faults) set(untagged bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.untagged = untagged
}

func (f *faults) dropTags() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.untagged
}

type simDevice struct {
	ID        string   `json:"id"`
	NodeID    string   `json:"nodeId"`
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"`
	Tags      []string `json:"tags"`
}

func (c *simClient) post(path string, body any, out any) error {
	doc, _ := json.Marshal(body)
	res, err := c.http.Post(c.base+path, "application/json", bytes.NewReader(doc))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(text, &e) == nil && e.Message != "" {
			return errors.New(e.Message)
		}
		return fmt.Errorf("%s: %s", res.Status, text)
	}
	if out != nil {
		return json.Unmarshal(text, out)
	}
	return nil
}

// register decides a register request: a join with an auth key asks the
// simulator (the same machine keeps its device); a known node without one
// keeps what it has; anything else needs a key (no interactive login).
func (c *simClient) register(req *tailcfg.RegisterRequest, mkey key.MachinePublic, known *tailcfg.Node) (*testcontrol.Registration, error) {
	if req.Auth == nil || req.Auth.AuthKey == "" {
		if known != nil {
			return &testcontrol.Registration{ID: known.ID, StableID: known.StableID, Name: known.Name,
				Addresses: known.Addresses, Tags: known.Tags}, nil
		}
		return nil, errors.New("this test control plane joins nodes with an auth key only")
	}
	hostname, tags := "", []string{}
	if req.Hostinfo != nil {
		hostname = req.Hostinfo.Hostname
		tags = append(tags, req.Hostinfo.RequestTags...)
	}
	var out struct {
		Device simDevice `json:"device"`
	}
	err := c.post("/sim/tailscale/join", map[string]any{
		"auth_key": req.Auth.AuthKey, "hostname": hostname,
		"advertise_tags": tags, "machine": mkey.String(),
	}, &out)
	if err != nil {
		return nil, err
	}
	reg, err := registration(out.Device)
	if err == nil && c.faults.dropTags() {
		log.Printf("fault: %s registered without its tags %v", reg.Name, reg.Tags)
		reg.Tags = nil
	}
	return reg, err
}

func registration(d simDevice) (*testcontrol.Registration, error) {
	id, err := strconv.ParseInt(d.ID, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("simulator device id %q: %w", d.ID, err)
	}
	r := &testcontrol.Registration{
		ID:       tailcfg.NodeID(id),
		StableID: tailcfg.StableNodeID(d.NodeID),
		Name:     strings.TrimSuffix(d.Name, ".") + ".",
		Tags:     d.Tags,
	}
	for _, a := range d.Addresses {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("simulator device address %q: %w", a, err)
		}
		r.Addresses = append(r.Addresses, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return r, nil
}

func (c *simClient) seen(machine key.MachinePublic, online bool) {
	if err := c.post("/sim/tailscale/seen", map[string]any{"machine": machine.String(), "online": online}, nil); err != nil {
		log.Printf("sim seen %v %v: %v", machine.ShortString(), online, err)
	}
}

// reapDeleted deletes from the control plane every node whose device the
// simulator no longer has (deleted through the API), once a second.
func (c *simClient) reapDeleted(control *testcontrol.Server) {
	for range time.Tick(time.Second) {
		res, err := c.http.Get(c.base + "/sim/tailscale/machines")
		if err != nil {
			continue
		}
		var out struct {
			Machines []string `json:"machines"`
		}
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			continue
		}
		have := map[string]bool{}
		for _, m := range out.Machines {
			have[m] = true
		}
		for _, n := range control.AllNodes() {
			if !have[n.Machine.String()] && control.DeleteNode(n.ID) {
				log.Printf("deleted node %d (%s): its device is gone from the simulator", n.ID, n.Name)
			}
		}
	}
}

// --- Online state: streams per node (a new poll may start before the old
// one ends). ---

type onlineCount struct {
	mu sync.Mutex
	n  map[tailcfg.NodeID]int
}

// add counts a stream in or out; true when the node went on- or offline.
func (o *onlineCount) add(id tailcfg.NodeID, in bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	before := o.n[id] > 0
	if in {
		o.n[id]++
	} else if o.n[id] > 0 {
		o.n[id]--
	}
	return before != (o.n[id] > 0)
}

func (o *onlineCount) is(id tailcfg.NodeID) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[id] > 0
}

func nodesJSON(nodes []*tailcfg.Node, online *onlineCount) []map[string]any {
	out := []map[string]any{}
	for _, n := range nodes {
		addrs := []string{}
		for _, a := range n.Addresses {
			addrs = append(addrs, a.Addr().String())
		}
		out = append(out, map[string]any{
			"id":        strconv.FormatInt(int64(n.ID), 10),
			"nodeId":    string(n.StableID),
			"name":      strings.TrimSuffix(n.Name, "."),
			"addresses": addrs,
			"tags":      n.Tags,
			"machine":   n.Machine.String(),
			"nodeKey":   n.Key.String(),
			"online":    online.is(n.ID),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["id"].(string) < out[j]["id"].(string) })
	return out
}

// --- DNS-01 records. ---

type txtRecords struct {
	mu sync.Mutex
	m  map[string][]string
}

func (t *txtRecords) add(name, value string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	name = dns.Fqdn(strings.ToLower(name))
	t.m[name] = append(t.m[name], value)
}

func (t *txtRecords) snapshot() map[string][]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string][]string{}
	for k, v := range t.m {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func (t *txtRecords) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	reply := new(dns.Msg)
	reply.SetReply(q)
	reply.Authoritative = true
	t.mu.Lock()
	for _, question := range q.Question {
		if question.Qtype != dns.TypeTXT {
			continue
		}
		for _, v := range t.m[strings.ToLower(question.Name)] {
			reply.Answer = append(reply.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0},
				Txt: []string{v},
			})
		}
	}
	t.mu.Unlock()
	w.WriteMsg(reply)
}

// --- The helper's CA: the test CA the VM image trusts, or a new one. ---

type certAuthority struct {
	cert     *x509.Certificate
	key      any
	certPath string
}

func loadOrMakeCA(o options) (*certAuthority, error) {
	if o.caCert != "" {
		certPEM, err := os.ReadFile(o.caCert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := os.ReadFile(o.caKey)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("-ca-cert/-ca-key: %w", err)
		}
		cert, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, err
		}
		return &certAuthority{cert: cert, key: pair.PrivateKey, certPath: o.caCert}, nil
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "clawprov tailnet-helper test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	path := filepath.Join(o.state, "ca.pem")
	if err := writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return nil, err
	}
	return &certAuthority{cert: cert, key: priv, certPath: path}, nil
}

func (a *certAuthority) issue(names []string, ip netip.Addr) (tls.Certificate, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "clawprov tailnet-helper"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.IP(ip.AsSlice())},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &priv.PublicKey, a.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("the helper's certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}
