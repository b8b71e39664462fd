#!/usr/bin/python3
"""Instructions per operation of one bench process under callgrind.

callgrind_ops.py --side server|client --server BIN --client BIN --mode M
                 --concurrency N [--window 20] [--warm 8] --out DIR
The measured side (--side) runs under callgrind with --separate-threads=yes,
the other natively; the counters are zeroed after --warm seconds and dumped
--window seconds later. Prints one JSON line: the Ir of that dump (all
threads) and the operations in it, counted exactly as the calls of
bench::Msg's parser (every message the measured process receives is parsed
once: server_stream and bidi replies on a client, client_stream and bidi
requests on a server; not unary or a server_stream server), plus the
client's rate x window as a cross-check. Instruction counts do not depend on
what else runs on the machine; rates do.

--inspect on|watched:RATE (with --watch BIN, bench/inspect_watch) turns the
server's inspection on (ACTIO_INSPECT), and for watched:RATE attaches a
watcher that takes RATE calls per second and loop one by one, the rest
counted per method. Under callgrind a server runs about 20x slower than
natively, so scale RATE to keep the share of calls sent one by one that the
inspector's default 1,000 calls/s gives natively (say watched:45)."""
import argparse, glob, json, os, re, signal, socket, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('--side', required=True)
ap.add_argument('--server', required=True)
ap.add_argument('--client', required=True)
ap.add_argument('--mode', required=True)
ap.add_argument('--concurrency', type=int, default=1)
ap.add_argument('--size', type=int, default=64)
ap.add_argument('--stream-count', type=int, default=100)
ap.add_argument('--window', type=float, default=20)
ap.add_argument('--warm', type=float, default=8)
ap.add_argument('--out', required=True)
ap.add_argument('--parser', default='bench::Msg::_InternalParse')
ap.add_argument('--inspect', default='off')
ap.add_argument('--watch')
a = ap.parse_args()

os.makedirs(a.out, exist_ok=True)
for f in glob.glob(os.path.join(a.out, 'cg.out*')):
    os.remove(f)

def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p

port = free_port()
cg = ['valgrind', '--tool=callgrind', '--separate-threads=yes',
      '--callgrind-out-file=' + os.path.join(a.out, 'cg.out')]
srv_cmd = [a.server, '--port', str(port)]
if a.side == 'server':
    srv_cmd = cg + srv_cmd
env = dict(os.environ)
inspect_port = None
if a.inspect != 'off':
    inspect_port = free_port()
    env['ACTIO_INSPECT'] = f'127.0.0.1:{inspect_port}'
srv = subprocess.Popen(srv_cmd, env=env, stderr=open(os.path.join(a.out, 'server.err'), 'w'))

def wait_port(p):
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(('127.0.0.1', p), timeout=1).close(); return
        except OSError:
            if time.time() > deadline: sys.exit(f'nothing listens on {p}')
            time.sleep(0.2)

wait_port(port)
total = a.warm + a.window + 6
watcher = None
if a.inspect.startswith('watched'):
    if not a.watch: sys.exit('--inspect watched:RATE needs --watch')
    wait_port(inspect_port)
    rate = a.inspect.split(':')[1] if ':' in a.inspect else '1000'
    watcher = subprocess.Popen([a.watch, '--target', f'127.0.0.1:{inspect_port}', '--seconds', str(total + 30),
                                '--max-calls-per-second', rate], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
cli_cmd = [a.client, '--target', f'127.0.0.1:{port}', '--mode', a.mode, '--concurrency', str(a.concurrency),
           '--seconds', str(int(total)), '--size', str(a.size), '--warmup', '1', '--stream-count', str(a.stream_count)]
if a.side == 'client':
    cli_cmd = cg + cli_cmd
cli = subprocess.Popen(cli_cmd, stdout=subprocess.PIPE, stderr=open(os.path.join(a.out, 'client.err'), 'w'), text=True)
measured = srv if a.side == 'server' else cli
time.sleep(a.warm)
subprocess.run(['callgrind_control', '-z', str(measured.pid)], check=True, stdout=subprocess.DEVNULL)
time.sleep(a.window)
subprocess.run(['callgrind_control', '-d', str(measured.pid)], check=True, stdout=subprocess.DEVNULL)
out, _ = cli.communicate(timeout=total + 120)
if watcher:
    watcher.kill()
    watcher.wait()
srv.send_signal(signal.SIGTERM)
srv.wait(timeout=60)
res = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}

# The -d dump: files cg.out.1-XX (one per thread) (or cg.out.1).
dumps = [f for f in glob.glob(os.path.join(a.out, 'cg.out.1*'))]
ir = 0
calls = 0
for f in dumps:
    names = {}
    cur_cfn = None
    with open(f) as fh:
        for line in fh:
            if line.startswith('summary:'):
                ir += int(line.split()[1])
            m = re.match(r'c?fn=\((\d+)\)(?: (.*))?', line)
            if m:
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                if line.startswith('cfn='):
                    cur_cfn = names.get(m.group(1))
                continue
            if line.startswith('calls=') and cur_cfn and cur_cfn.startswith(a.parser + '('):
                calls += int(line.split('=')[1].split()[0])
print(json.dumps({'side': a.side, 'server': os.path.basename(a.server), 'client': os.path.basename(a.client),
                  'inspect': a.inspect, 'mode': a.mode, 'c': a.concurrency, 'ir': ir, 'ops': calls,
                  'ir_per_op': round(ir / calls) if calls else None,
                  'rate': res.get('calls_or_msgs_per_s'), 'ops_by_rate': (res.get('calls_or_msgs_per_s') or 0) * a.window,
                  'dumps': len(dumps)}))
