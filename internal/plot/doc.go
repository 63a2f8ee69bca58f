// Package plot draws time series of a run as an image: per-subflow
// throughput, congestion window and round-trip time, one panel each,
// sharing a time axis, with the run's events (a link going down, coming
// back) marked across every panel.
//
// The model is small: a Figure has a title, Panels stacked from top to
// bottom, and Events; a Panel has a title, a Y axis label with its unit,
// and Series; a Series is a named line of Points (a time from the start of
// the run and a value). A series keeps its colour in every panel of a
// figure, so one legend under the title serves them all.
//
// Rate turns samples of a cumulative byte counter into a throughput
// series in Mbit/s; SubflowPanels builds the usual panels from per-subflow
// samples (bytes acknowledged and received, congestion window, smoothed
// RTT), as the scenario runner, mptcp.Conn's subflows or tcp.Info give
// them.
//
// Figure.WriteFile renders with gonum.org/v1/plot to PNG or SVG, chosen by
// the file's extension (.png or .svg); any other extension is an error.
// SVG keeps text as text, so titles, legend and event labels can be found
// in the file.
package plot
