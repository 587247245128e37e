//! "Infrastructure": the process collector's view of the service's processes: CPU, memory, file
//! descriptors, threads and restarts.

use super::model::{stat, target, timeseries, Board, Measure};
use super::promql::{rate, series};
use super::{Context, Row};
use crate::families::PROCESS_FAMILIES;

/// The rows, top to bottom.
pub(super) const ROWS: [Row; 3] = [
    Row {
        title: "Now",
        description:
            "The busiest process of the service, now: CPU, memory, file descriptors, restarts.",
        panels: now,
    },
    Row {
        title: "CPU and memory",
        description: "CPU time and memory of each process of the service, over time.",
        panels: cpu_and_memory,
    },
    Row {
        title: "File descriptors and threads",
        description: "Open files and sockets against the process limit, and the thread count.",
        panels: fds_and_threads,
    },
];

fn now(board: &mut Board, cx: &Context) {
    let (m, p) = (&cx.measures, PROCESS_FAMILIES);
    let cpu = format!(
        "CPU time the busiest process of $job uses per second (100 % = one core fully busy): the \
         maximum over instances of the per-second rate of {} over $__rate_interval.",
        p.cpu.name
    );
    let memory = format!(
        "Physical memory held by the largest process of $job: the maximum over instances of {}.",
        p.resident_memory.name
    );
    let fds = format!(
        "Share of its file descriptor limit the most loaded process of $job holds open: the \
         maximum over instances of {} divided by {}.",
        p.open_fds.name, p.max_fds.name
    );
    let restarts = format!(
        "How many times a process of $job restarted in the last hour: the number of changes of {} \
         over 1 h, summed over instances.",
        p.start_time.name
    );
    let (open, max) = (series(&p.open_fds, ""), series(&p.max_fds, ""));
    let start_time = series(&p.start_time, "");
    board.add_all(
        6,
        4,
        [
            stat("CPU usage", cpu)
                .panel(&m.cpu)
                .target(target(format!("max({})", rate(&p.cpu, "")), "CPU")),
            stat("Resident memory", memory)
                .panel(&m.memory)
                .target(target(
                    format!("max({})", series(&p.resident_memory, "")),
                    "resident",
                )),
            stat("File descriptors used", fds)
                .panel(&m.fds)
                .max(1.0)
                .target(target(format!("max({open} / {max})"), "fds used")),
            stat("Restarts (1 h)", restarts)
                .panel(&m.restarts)
                .target(target(
                    format!("sum(changes({start_time}[1h]))"),
                    "restarts",
                )),
        ],
    );
}

fn cpu_and_memory(board: &mut Board, cx: &Context) {
    let (m, p) = (&cx.measures, PROCESS_FAMILIES);
    let cpu = format!(
        "CPU time each process of $job uses per second (100 % = one core fully busy): the \
         per-second rate of {} over $__rate_interval, by instance.",
        p.cpu.name
    );
    let memory = format!(
        "Memory of each process of $job: {} (physical memory held) and {} (address space \
         reserved), by instance. The thresholds judge resident memory:",
        p.resident_memory.name, p.virtual_memory.name
    );
    board.add_all(
        12,
        8,
        [
            timeseries("CPU usage", cpu)
                .panel(&m.cpu)
                .target(target(rate(&p.cpu, ""), "{{instance}}")),
            timeseries("Memory", memory)
                .panel(&m.memory)
                .target(target(
                    series(&p.resident_memory, ""),
                    "resident {{instance}}",
                ))
                .target(target(
                    series(&p.virtual_memory, ""),
                    "virtual {{instance}}",
                )),
        ],
    );
}

fn fds_and_threads(board: &mut Board, _cx: &Context) {
    let p = PROCESS_FAMILIES;
    let fds = format!(
        "File descriptors (files and sockets) each process of $job holds open, {}, beside its \
         limit, {}, by instance. The share used is judged in the File descriptors used panel.",
        p.open_fds.name, p.max_fds.name
    );
    let threads = format!(
        "Operating system threads of each process of $job: {}, by instance. A count that only \
         grows is a thread leak.",
        p.threads.name
    );
    let count = Measure::volume("short");
    board.add_all(
        12,
        8,
        [
            timeseries("Open file descriptors vs max", fds)
                .panel(&count)
                .target(target(series(&p.open_fds, ""), "open {{instance}}"))
                .target(target(series(&p.max_fds, ""), "max {{instance}}")),
            timeseries("Threads", threads)
                .panel(&count)
                .target(target(series(&p.threads, ""), "{{instance}}")),
        ],
    );
}
