//! "Infrastructure": the process collector's view of the service's processes: CPU, memory, file
//! descriptors, threads and restarts.

use super::model::{target, Board, Panel, Thresholds};
use super::promql::{bytes, percent, rate, series, trim};
use super::Context;
use crate::families::PROCESS_FAMILIES;
use serde_json::Value;

pub(super) fn panels(cx: &Context) -> Vec<Value> {
    let l = &cx.levels;
    let cpu = Thresholds::Judged {
        yellow: l.cpu.0,
        red: l.cpu.1,
    };
    let cpu_words = format!(
        "Green below {} of a core, yellow below {}, red above.",
        percent(l.cpu.0),
        percent(l.cpu.1)
    );
    let memory = Thresholds::Judged {
        yellow: l.memory.0,
        red: l.memory.1,
    };
    let memory_words = format!(
        "Green below {}, yellow below {} (the memory limit the forecast alert guards), red above.",
        bytes(l.memory.0),
        bytes(l.memory.1)
    );
    let fds = Thresholds::Judged {
        yellow: l.fds.0,
        red: l.fds.1,
    };
    let fd_words = format!(
        "Green below {} of the limit, yellow below {}, red above.",
        percent(l.fds.0),
        percent(l.fds.1)
    );
    let restarts = Thresholds::Judged {
        yellow: l.restarts.0,
        red: l.restarts.1,
    };
    let mut board = Board::new();

    board.row(
        "Now",
        "The busiest process of the service, now: CPU, memory, file descriptors, restarts.",
    );
    let cpu_rate = rate(&PROCESS_FAMILIES.cpu, "");
    board.add(
        Panel::stat(
            "CPU usage",
            format!(
                "CPU time the busiest process of $job uses per second (100 % = one core fully busy): \
                 the maximum over instances of the per-second rate of process_cpu_seconds_total over \
                 $__rate_interval. {cpu_words}"
            ),
            "percentunit",
        )
        .thresholds(cpu)
        .target(target(format!("max({cpu_rate})"), "CPU")),
        6,
        4,
    );
    board.add(
        Panel::stat(
            "Resident memory",
            format!(
                "Physical memory held by the largest process of $job: the maximum over instances of \
                 process_resident_memory_bytes. {memory_words}"
            ),
            "bytes",
        )
        .thresholds(memory)
        .target(target(
            format!("max({})", series(&PROCESS_FAMILIES.resident_memory, "")),
            "resident",
        )),
        6,
        4,
    );
    board.add(
        Panel::stat(
            "File descriptors used",
            format!(
                "Share of its file descriptor limit the most loaded process of $job holds open: the \
                 maximum over instances of process_open_fds divided by process_max_fds. {fd_words}"
            ),
            "percentunit",
        )
        .thresholds(fds)
        .max(1.0)
        .target(target(
            format!(
                "max({} / {})",
                series(&PROCESS_FAMILIES.open_fds, ""),
                series(&PROCESS_FAMILIES.max_fds, "")
            ),
            "fds used",
        )),
        6,
        4,
    );
    board.add(
        Panel::stat(
            "Restarts (1 h)",
            format!(
                "How many times a process of $job restarted in the last hour: the number of changes of \
                 process_start_time_seconds over 1 h, summed over instances. Green at 0, yellow from \
                 {}, red from {}.",
                trim(l.restarts.0),
                trim(l.restarts.1)
            ),
            "short",
        )
        .thresholds(restarts)
        .target(target(
            format!(
                "sum(changes({}[1h]))",
                series(&PROCESS_FAMILIES.start_time, "")
            ),
            "restarts",
        )),
        6,
        4,
    );

    board.row(
        "CPU and memory",
        "CPU time and memory of each process of the service, over time.",
    );
    board.add(
        Panel::timeseries(
            "CPU usage",
            format!(
                "CPU time each process of $job uses per second (100 % = one core fully busy): the \
                 per-second rate of process_cpu_seconds_total over $__rate_interval, by instance. \
                 {cpu_words}"
            ),
            "percentunit",
        )
        .thresholds(cpu)
        .target(target(cpu_rate, "{{instance}}")),
        12,
        8,
    );
    board.add(
        Panel::timeseries(
            "Memory",
            format!(
                "Memory of each process of $job: process_resident_memory_bytes (physical memory held) \
                 and process_virtual_memory_bytes (address space reserved), by instance. The \
                 thresholds judge resident memory: {memory_words}"
            ),
            "bytes",
        )
        .thresholds(memory)
        .target(target(
            series(&PROCESS_FAMILIES.resident_memory, ""),
            "resident {{instance}}",
        ))
        .target(target(
            series(&PROCESS_FAMILIES.virtual_memory, ""),
            "virtual {{instance}}",
        )),
        12,
        8,
    );

    board.row(
        "File descriptors and threads",
        "Open files and sockets against the process limit, and the thread count.",
    );
    board.add(
        Panel::timeseries(
            "Open file descriptors vs max",
            "File descriptors (files and sockets) each process of $job holds open, \
             process_open_fds, beside its limit, process_max_fds, by instance. The share used is \
             judged in the File descriptors used panel.",
            "short",
        )
        .target(target(
            series(&PROCESS_FAMILIES.open_fds, ""),
            "open {{instance}}",
        ))
        .target(target(
            series(&PROCESS_FAMILIES.max_fds, ""),
            "max {{instance}}",
        )),
        12,
        8,
    );
    board.add(
        Panel::timeseries(
            "Threads",
            "Operating system threads of each process of $job: process_threads, by instance. A count \
             that only grows is a thread leak.",
            "short",
        )
        .target(target(series(&PROCESS_FAMILIES.threads, ""), "{{instance}}")),
        12,
        8,
    );
    board.into_panels()
}
