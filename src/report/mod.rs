//! What a run leaves behind and how it is shown: `summary.json` and the
//! history (`summary.rs`), the run folder read back (`data.rs`), latency
//! plots drawn with plotters into SVG (`plots.rs`), the message timeline
//! (`timeline.rs`), a protocol's span charts (`spans.rs`), the self-contained `report.html` (`html.rs`) and the
//! sweep summary (`sweep.rs`). Reports read saved files only, so `faultline
//! plot` redraws them without rerunning anything.

pub mod data;
pub mod html;
pub mod plots;
pub mod spans;
pub mod summary;
pub mod sweep;
pub mod timeline;
pub mod witness;

pub use data::{load_run_dir, FaultWindow, LinOp, Op, OpKind, Outcome, RunData, Summary, TimelineEvent};
pub use html::{report_html, write_all};
pub use plots::compare;
pub use summary::{run_summary, write_run, SummaryContext};
pub use sweep::{write_sweep, SeedRow, SweepData};
pub use timeline::{default_timeline_window, timeline_svg, ARROW_CAP};
