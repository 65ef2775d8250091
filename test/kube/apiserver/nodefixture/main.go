// Command nodefixture is a stand-in kubelet for the Kubernetes-gateway tests (test infrastructure only).
//
// It registers a Node whose kubelet endpoint is 127.0.0.1:<port>, marks the pods bound to it Running, runs
// each container's command as a local process (its stdout and stderr are the container log; its stdin is
// what `kubectl attach -i` writes), and serves the kubelet endpoints the API server forwards to —
// /exec, /attach, /portForward and /containerLogs — with the Kubernetes project's own CRI streaming
// library (k8s.io/kubelet/pkg/cri/streaming). `exec` runs the command as a local process in the work
// directory (with a pseudo-terminal for -t); port-forward connects to 127.0.0.1:<port> on this machine.
// Only clients with a certificate from --client-ca are served (the API server's kubelet client).
//
// When it is serving it prints one line `nodefixture ready port=<port>` on stdout.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/kubelet/pkg/cri/streaming/portforward"
	remotecommandserver "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	utilexec "k8s.io/utils/exec"
)

type fixture struct {
	client   kubernetes.Interface
	nodeName string
	workDir  string
	logsDir  string

	mu         sync.Mutex
	containers map[string]*container // namespace/pod/container
}

// container is a pod's container: a local process (or nothing, when the container has no command).
type container struct {
	logPath string
	stdin   io.WriteCloser

	mu       sync.Mutex
	attached map[chan []byte]struct{}
	done     chan struct{}
	exitCode int
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig with the rights to register a Node and update pod status")
	nodeName := flag.String("node-name", "vigil-test-node", "the Node's name")
	certFile := flag.String("tls-cert-file", "", "serving certificate (for 127.0.0.1)")
	keyFile := flag.String("tls-private-key-file", "", "serving key")
	clientCA := flag.String("client-ca-file", "", "CA of the API server's kubelet client certificate")
	workDir := flag.String("work-dir", "", "directory commands run in")
	logsDir := flag.String("logs-dir", "", "directory holding container logs as <namespace>/<pod>/<container>.log")
	flag.Parse()
	if *kubeconfig == "" || *certFile == "" || *keyFile == "" || *clientCA == "" || *workDir == "" || *logsDir == "" {
		fmt.Fprintln(os.Stderr, "nodefixture: --kubeconfig, --tls-cert-file, --tls-private-key-file, --client-ca-file, --work-dir and --logs-dir are required")
		os.Exit(2)
	}
	if err := run(*kubeconfig, *nodeName, *certFile, *keyFile, *clientCA, *workDir, *logsDir); err != nil {
		fmt.Fprintln(os.Stderr, "nodefixture:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, nodeName, certFile, keyFile, clientCA, workDir, logsDir string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(clientCA)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("no certificate in %s", clientCA)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		// SPDY upgrades need HTTP/1.1.
		NextProtos: []string{"http/1.1"},
	})
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port

	f := &fixture{client: client, nodeName: nodeName, workDir: workDir, logsDir: logsDir, containers: map[string]*container{}}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	if err := f.registerNode(ctx, port); err != nil {
		return fmt.Errorf("registering node %s: %w", nodeName, err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/exec/", f.serveExec)
	mux.HandleFunc("/attach/", f.serveAttach)
	mux.HandleFunc("/portForward/", f.servePortForward)
	mux.HandleFunc("/containerLogs/", f.serveLogs)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go f.runPods(ctx)
	fmt.Printf("nodefixture ready port=%d\n", port)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	f.killAll()
	return nil
}

func (f *fixture) registerNode(ctx context.Context, port int) error {
	nodes := f.client.CoreV1().Nodes()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: f.nodeName, Labels: map[string]string{"kubernetes.io/hostname": f.nodeName, "kubernetes.io/os": "linux"}}}
	if _, err := nodes.Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	got, err := nodes.Get(ctx, f.nodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	got.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: f.nodeName}}
	got.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	got.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "vigil node fixture", LastHeartbeatTime: now, LastTransitionTime: now}}
	got.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v0.0.0-vigil-nodefixture", OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "local://processes"}
	got.Status.Capacity = corev1.ResourceList{}
	_, err = nodes.UpdateStatus(ctx, got, metav1.UpdateOptions{})
	return err
}

// runPods watches the pods bound to this node: each new one gets its containers started and is marked Running.
func (f *fixture) runPods(ctx context.Context) {
	selector := fields.OneTermEqualSelector("spec.nodeName", f.nodeName).String()
	for ctx.Err() == nil {
		list, err := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil {
			fmt.Fprintln(os.Stderr, "nodefixture: listing pods:", err)
			time.Sleep(time.Second)
			continue
		}
		for i := range list.Items {
			f.startPod(ctx, &list.Items[i])
		}
		w, err := f.client.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: list.ResourceVersion})
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		for ev := range w.ResultChan() {
			if pod, ok := ev.Object.(*corev1.Pod); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
				f.startPod(ctx, pod)
			} else if ok && ev.Type == watch.Deleted {
				f.stopPod(pod)
			}
		}
	}
}

func key(ns, pod, c string) string { return ns + "/" + pod + "/" + c }

func (f *fixture) startPod(ctx context.Context, pod *corev1.Pod) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != "" && pod.Status.Phase != corev1.PodPending {
		return
	}
	f.mu.Lock()
	if _, started := f.containers[key(pod.Namespace, pod.Name, pod.Spec.Containers[0].Name)]; started {
		f.mu.Unlock()
		return
	}
	statuses := make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
	for _, spec := range pod.Spec.Containers {
		c := f.startContainer(pod, spec)
		f.containers[key(pod.Namespace, pod.Name, spec.Name)] = c
		statuses = append(statuses, corev1.ContainerStatus{
			Name: spec.Name, Image: spec.Image, ImageID: "local://" + spec.Image, ContainerID: "local://" + key(pod.Namespace, pod.Name, spec.Name),
			Ready: true, Started: ptr(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
		})
		go f.watchExit(ctx, pod.Namespace, pod.Name, spec.Name, c, pod.Spec.RestartPolicy)
	}
	f.mu.Unlock()
	now := metav1.Now()
	pod = pod.DeepCopy()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.HostIP = "127.0.0.1"
	pod.Status.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	pod.Status.PodIP = "127.0.0.1"
	pod.Status.PodIPs = []corev1.PodIP{{IP: "127.0.0.1"}}
	pod.Status.StartTime = &now
	pod.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	pod.Status.ContainerStatuses = statuses
	if _, err := f.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, "nodefixture: marking pod running:", err)
	}
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) startContainer(pod *corev1.Pod, spec corev1.Container) *container {
	dir := filepath.Join(f.logsDir, pod.Namespace, pod.Name)
	_ = os.MkdirAll(dir, 0o755)
	c := &container{logPath: filepath.Join(dir, spec.Name+".log"), attached: map[chan []byte]struct{}{}, done: make(chan struct{})}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nodefixture:", err)
		close(c.done)
		return c
	}
	argv := append(append([]string{}, spec.Command...), spec.Args...)
	if len(argv) == 0 {
		// No command: a container that just runs (its log is whatever a test appends to the file).
		_ = logFile.Close()
		return c
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = f.workDir
	cmd.Env = containerEnv(pod, spec)
	out := &fanout{file: logFile, c: c}
	cmd.Stdout, cmd.Stderr = out, out
	if spec.Stdin {
		if c.stdin, err = cmd.StdinPipe(); err != nil {
			fmt.Fprintln(os.Stderr, "nodefixture:", err)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(logFile, "nodefixture: cannot start %q: %v\n", argv[0], err)
		_ = logFile.Close()
		c.exitCode = 128
		close(c.done)
		return c
	}
	go func() {
		err := cmd.Wait()
		if cmd.ProcessState != nil {
			c.exitCode = cmd.ProcessState.ExitCode()
		} else if err != nil {
			c.exitCode = 1
		}
		_ = logFile.Close()
		c.mu.Lock()
		for ch := range c.attached {
			close(ch)
		}
		c.attached = map[chan []byte]struct{}{}
		c.mu.Unlock()
		close(c.done)
	}()
	go func() {
		<-c.done
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	return c
}

func containerEnv(pod *corev1.Pod, spec corev1.Container) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "POD_NAME=" + pod.Name, "POD_NAMESPACE=" + pod.Namespace, "CONTAINER_NAME=" + spec.Name, "HOSTNAME=" + pod.Name}
	for _, e := range spec.Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	return env
}

// fanout writes a container's output to its log file and to every attached client.
type fanout struct {
	file *os.File
	c    *container
}

func (o *fanout) Write(p []byte) (int, error) {
	n, err := o.file.Write(p)
	o.c.mu.Lock()
	for ch := range o.c.attached {
		select {
		case ch <- append([]byte(nil), p...):
		default: // a slow attacher loses output rather than stalling the container
		}
	}
	o.c.mu.Unlock()
	return n, err
}

func (f *fixture) watchExit(ctx context.Context, ns, name, cname string, c *container, restart corev1.RestartPolicy) {
	select {
	case <-ctx.Done():
		return
	case <-c.done:
	}
	pod, err := f.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return
	}
	allDone := true
	for i := range pod.Status.ContainerStatuses {
		st := &pod.Status.ContainerStatuses[i]
		if st.Name == cname {
			st.Ready = false
			st.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: int32(c.exitCode), FinishedAt: metav1.Now(), Reason: map[bool]string{true: "Completed", false: "Error"}[c.exitCode == 0]}}
		}
		if st.State.Terminated == nil {
			allDone = false
		}
	}
	if allDone && restart != corev1.RestartPolicyAlways {
		pod.Status.Phase = corev1.PodSucceeded
		for _, st := range pod.Status.ContainerStatuses {
			if st.State.Terminated != nil && st.State.Terminated.ExitCode != 0 {
				pod.Status.Phase = corev1.PodFailed
			}
		}
	}
	_, _ = f.client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
}

func (f *fixture) stopPod(pod *corev1.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, spec := range pod.Spec.Containers {
		k := key(pod.Namespace, pod.Name, spec.Name)
		if c, ok := f.containers[k]; ok {
			select {
			case <-c.done:
			default:
				if c.stdin != nil {
					_ = c.stdin.Close()
				}
			}
			delete(f.containers, k)
		}
	}
}

func (f *fixture) killAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.stdin != nil {
			_ = c.stdin.Close()
		}
	}
}

// lookup parses /<kind>/<namespace>/<pod>[/<container>] and finds the container.
func (f *fixture) lookup(path string, withContainer bool) (ns, pod, cname string, c *container, err error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	want := 3
	if withContainer {
		want = 4
	}
	if len(parts) != want {
		return "", "", "", nil, fmt.Errorf("unexpected path %q", path)
	}
	ns, pod = parts[1], parts[2]
	if !withContainer {
		return ns, pod, "", nil, nil
	}
	cname = parts[3]
	f.mu.Lock()
	c = f.containers[key(ns, pod, cname)]
	f.mu.Unlock()
	if c == nil {
		return ns, pod, cname, nil, fmt.Errorf("container %s not found in pod %s/%s on node %s", cname, ns, pod, f.nodeName)
	}
	return ns, pod, cname, c, nil
}

func (f *fixture) serveExec(w http.ResponseWriter, req *http.Request) {
	_, pod, cname, _, err := f.lookup(req.URL.Path, true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	opts, err := remotecommandserver.NewOptions(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cmd := req.URL.Query()["command"]
	remotecommandserver.ServeExec(w, req, f, pod, "", cname, cmd, opts, 4*time.Hour, 30*time.Second, remotecommandconsts.SupportedStreamingProtocols)
}

func (f *fixture) serveAttach(w http.ResponseWriter, req *http.Request) {
	_, pod, cname, _, err := f.lookup(req.URL.Path, true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	opts, err := remotecommandserver.NewOptions(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The Attacher gets "<namespace>/<pod>" as the pod name: it needs the namespace to find the container.
	ns := strings.Split(strings.Trim(req.URL.Path, "/"), "/")[1]
	remotecommandserver.ServeAttach(w, req, f, ns+"/"+pod, "", cname, opts, 4*time.Hour, 30*time.Second, remotecommandconsts.SupportedStreamingProtocols)
}

func (f *fixture) servePortForward(w http.ResponseWriter, req *http.Request) {
	_, pod, _, _, err := f.lookup(req.URL.Path, false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	opts, err := portforward.NewV4Options(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	portforward.ServePortForward(w, req, f, pod, "", opts, 4*time.Hour, 30*time.Second, portforward.SupportedProtocols)
}

// ExecInContainer runs the command as a local process in the work directory.
func (f *fixture) ExecInContainer(ctx context.Context, podName string, _ types.UID, cname string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	if len(cmd) == 0 {
		return errors.New("no command")
	}
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Dir = f.workDir
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "POD_NAME=" + podName, "CONTAINER_NAME=" + cname, "HOSTNAME=" + podName}
	if tty {
		c.Env = append(c.Env, "TERM=xterm")
		// Like a runtime given the console size at exec start (Docker's ConsoleSize): the process starts on a
		// terminal of the client's size, so a command that reads it at once (stty size) never sees 0x0. The
		// first size is what the client sends right after the streams open; a client that sends none still runs.
		var first *pty.Winsize
		select {
		case size, ok := <-resize:
			if ok {
				first = &pty.Winsize{Rows: size.Height, Cols: size.Width}
			}
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
		p, err := pty.StartWithSize(c, first)
		if err != nil {
			return err
		}
		defer p.Close()
		go func() {
			for size := range resize {
				_ = pty.Setsize(p, &pty.Winsize{Rows: size.Height, Cols: size.Width})
			}
		}()
		if in != nil {
			go func() { _, _ = io.Copy(p, in) }()
		}
		if out != nil {
			// Reading the pty ends with EIO once the process and its children are gone.
			_, _ = io.Copy(out, p)
		}
		return exitError(c.Wait())
	}
	if in != nil {
		stdin, err := c.StdinPipe()
		if err != nil {
			return err
		}
		go func() { _, _ = io.Copy(stdin, in); _ = stdin.Close() }()
	}
	if out != nil {
		c.Stdout = out
	}
	if errw != nil {
		c.Stderr = errw
	}
	return exitError(c.Run())
}

// AttachContainer connects to the container's process: its output from now on, and its stdin.
func (f *fixture) AttachContainer(_ context.Context, podName string, _ types.UID, cname string, in io.Reader, out, errw io.WriteCloser, tty bool, _ <-chan remotecommand.TerminalSize) error {
	f.mu.Lock()
	c := f.containers[podName+"/"+cname]
	f.mu.Unlock()
	if c == nil {
		return fmt.Errorf("container %s not found in pod %s", cname, podName)
	}
	if tty {
		return errors.New("the node fixture's containers have no terminal: attach without -t")
	}
	ch := make(chan []byte, 256)
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return nil
	default:
	}
	c.attached[ch] = struct{}{}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if _, ok := c.attached[ch]; ok {
			delete(c.attached, ch)
		}
		c.mu.Unlock()
	}()
	if in != nil && c.stdin != nil {
		go func() { _, _ = io.Copy(c.stdin, in) }()
	}
	for b := range ch {
		w := out
		if w == nil {
			w = errw
		}
		if w == nil {
			continue
		}
		if _, err := w.Write(b); err != nil {
			return nil
		}
	}
	return nil
}

// PortForward connects the stream to 127.0.0.1:<port> on this machine (the pod's IP is 127.0.0.1).
func (f *fixture) PortForward(ctx context.Context, _ string, _ types.UID, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("port-forward to 127.0.0.1:%d: %w", port, err)
	}
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(conn, stream); _ = conn.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(stream, conn); done <- struct{}{} }()
	<-done
	<-done
	return nil
}

func exitError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return utilexec.CodeExitError{Err: err, Code: ee.ExitCode()}
	}
	return err
}

// serveLogs serves a container's log file: follow=true keeps streaming what is appended until the container
// exits (or the client goes away); tailLines and limitBytes as the kubelet does.
func (f *fixture) serveLogs(w http.ResponseWriter, req *http.Request) {
	_, _, _, c, err := f.lookup(req.URL.Path, true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	q := req.URL.Query()
	follow := q.Get("follow") == "true"
	limit := int64(-1)
	if v := q.Get("limitBytes"); v != "" {
		if limit, err = strconv.ParseInt(v, 10, 64); err != nil || limit <= 0 {
			http.Error(w, "bad limitBytes", http.StatusBadRequest)
			return
		}
	}
	file, err := os.Open(c.logPath)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer file.Close()
	if v := q.Get("tailLines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, "bad tailLines", http.StatusBadRequest)
			return
		}
		if err := seekTail(file, n); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	var sent int64
	buf := make([]byte, 32*1024)
	for {
		n, rerr := file.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if limit >= 0 && sent+int64(n) > limit {
				chunk = chunk[:limit-sent]
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
			sent += int64(len(chunk))
			if flusher != nil {
				flusher.Flush()
			}
			if limit >= 0 && sent >= limit {
				return
			}
			continue
		}
		if rerr != nil && rerr != io.EOF {
			return
		}
		if !follow {
			return
		}
		select {
		case <-req.Context().Done():
			return
		case <-c.done:
			// Drain what the process wrote last, then end.
			if rest, _ := io.ReadAll(file); len(rest) > 0 {
				if limit >= 0 && sent+int64(len(rest)) > limit {
					rest = rest[:limit-sent]
				}
				_, _ = w.Write(rest)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// seekTail positions the file at the start of its last n lines.
func seekTail(file *os.File, n int) error {
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	var offsets []int64
	var pos int64
	r := bufio.NewReader(file)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			offsets = append(offsets, pos)
			pos += int64(len(line))
		}
		if err != nil {
			break
		}
	}
	start := int64(0)
	if n == 0 {
		start = pos
	} else if len(offsets) > n {
		start = offsets[len(offsets)-n]
	}
	_, err := file.Seek(start, io.SeekStart)
	return err
}
