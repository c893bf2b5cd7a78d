#!/usr/bin/env bash
# Starts a real one-node SLURM cluster on this machine (Debian slurm-wlm + munge) with partition "debug", for
# genlab's SLURM launcher tests and for trying `hydra/launcher=slurm` locally. Needs root and Debian's package
# registry (only the first time). Idempotent; concurrent calls wait for each other.
# Adapted from ../shared/slurm/start-local-slurm.sh: a pid file whose daemon died no longer counts as "up",
# a drained/down node is resumed, and -q prints nothing unless it fails.
# Usage: scripts/start_slurm.sh [-q] | scripts/start_slurm.sh stop
set -euo pipefail
STATE=${SLURM_LOCAL_DIR:-/tmp/genlab-slurm}
QUIET=false
[[ ${1:-} == -q ]] && QUIET=true
say() { $QUIET || echo "$@"; }

alive() { [[ -f $STATE/$1.pid ]] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }
node_ready() { sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated|completing)'; }

if [[ ${1:-} == stop ]]; then
  scancel --user="$(id -un)" 2>/dev/null || true
  for daemon in slurmd slurmctld; do
    if alive $daemon; then
      pid=$(cat "$STATE/$daemon.pid")
      kill "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true  # a daemon still waiting on job steps after 10 s
    fi
    rm -f "$STATE/$daemon.pid"
  done
  pkill -x slurmstepd 2>/dev/null || true
  echo "slurm stopped"
  exit 0
fi

if [[ $(id -u) != 0 ]]; then
  echo "start_slurm.sh: needs root (it installs slurm-wlm and munge, and runs slurmctld/slurmd)" >&2
  exit 1
fi
mkdir -p "$STATE"
exec 9>"$STATE/start.lock"
flock 9
if alive slurmctld && alive slurmd && node_ready; then say "slurm already up"; exit 0; fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 \
    || { echo "start_slurm.sh: apt-get install slurm-wlm munge failed (no package registry?)" >&2; exit 1; }
fi
mkdir -p "$STATE/slurmd" "$STATE/state" /etc/slurm /run/munge
host=$(hostname)
cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # nproc alone obeys OMP_NUM_THREADS
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
JobRequeue=1
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmdSpoolDir=$STATE/slurmd
StateSaveLocation=$STATE/state
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
[[ -f /etc/munge/munge.key ]] || /usr/sbin/mungekey -c >/dev/null 2>&1 || create-munge-key >/dev/null 2>&1
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
# daemons must not inherit the lock (fd 9), or they would hold it for good
pgrep -x munged >/dev/null || /usr/sbin/munged --force 2>/dev/null 9>&-
alive slurmctld || slurmctld 9>&-
alive slurmd || slurmd 9>&-
for _ in $(seq 1 30); do
  if node_ready; then say "slurm up: $(sinfo -h -o '%P %D %T %N')"; exit 0; fi
  if sinfo -h -o %T 2>/dev/null | grep -qE '^(down|drain)'; then
    scontrol update NodeName="$host" State=RESUME || true
  fi
  sleep 1
done
echo "start_slurm.sh: slurm did not come up; see $STATE/*.log" >&2
exit 1
