package graphflow;

import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Locale;
import org.gephi.graph.api.Column;
import org.gephi.graph.api.Edge;
import org.gephi.graph.api.Element;
import org.gephi.graph.api.Graph;
import org.gephi.graph.api.GraphController;
import org.gephi.graph.api.GraphModel;
import org.gephi.graph.api.Interval;
import org.gephi.graph.api.Node;
import org.gephi.graph.api.Table;
import org.gephi.io.importer.api.Container;
import org.gephi.io.importer.api.ImportController;
import org.gephi.io.importer.api.Issue;
import org.gephi.io.processor.plugin.DefaultProcessor;
import org.gephi.project.api.ProjectController;
import org.gephi.project.api.Workspace;
import org.openide.util.Lookup;

/**
 * Imports each file named on the command line with Gephi's own importer (the one Gephi's
 * File > Open uses) into a fresh workspace and prints, as one JSON object keyed by path, what
 * Gephi made of it: importer issues, whether the graph is dynamic, the node and edge attribute
 * columns, and every node and edge with its label, colour, weight, attribute values and time
 * intervals.
 */
public final class GephiCheck {

    private GephiCheck() {
    }

    public static void main(String[] args) throws Exception {
        ProjectController pc = Lookup.getDefault().lookup(ProjectController.class);
        ImportController ic = Lookup.getDefault().lookup(ImportController.class);
        GraphController gc = Lookup.getDefault().lookup(GraphController.class);
        StringBuilder out = new StringBuilder("{");
        for (int i = 0; i < args.length; i++) {
            pc.newProject();
            Workspace ws = pc.getCurrentWorkspace();
            File file = new File(args[i]);
            Container container = ic.importFile(file);
            if (container == null) {
                throw new IllegalStateException("Gephi has no importer for " + file);
            }
            ic.process(container, new DefaultProcessor(), ws);
            GraphModel model = gc.getGraphModel(ws);
            if (i > 0) {
                out.append(',');
            }
            str(out, args[i]).append(':');
            describe(out, container, model);
            pc.closeCurrentProject();
        }
        out.append('}');
        PrintStream stdout = new PrintStream(new FileOutputStream(FileDescriptor.out), true,
            StandardCharsets.UTF_8);
        stdout.println(out);
        stdout.flush();
        System.exit(0);
    }

    private static void describe(StringBuilder out, Container container, GraphModel model) {
        out.append("{\"issues\":[");
        Collection<Issue> issues = container.getReport().getIssuesList(10000);
        boolean first = true;
        for (Issue issue : issues) {
            if (!first) {
                out.append(',');
            }
            first = false;
            out.append("{\"level\":");
            str(out, issue.getLevel().toString()).append(",\"message\":");
            str(out, issue.getMessage()).append('}');
        }
        out.append("],\"dynamic\":").append(model.isDynamic());
        out.append(",\"directed\":").append(model.isDirected());
        out.append(",\"time_format\":");
        str(out, String.valueOf(model.getTimeFormat()));
        out.append(",\"node_columns\":");
        columns(out, model.getNodeTable());
        out.append(",\"edge_columns\":");
        columns(out, model.getEdgeTable());
        Graph graph = model.getGraph();
        out.append(",\"nodes\":[");
        first = true;
        for (Node n : graph.getNodes()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            out.append("{\"id\":");
            str(out, String.valueOf(n.getId())).append(",\"label\":");
            str(out, n.getLabel()).append(",\"color\":");
            color(out, n.r(), n.g(), n.b());
            out.append(",\"size\":").append(num(n.size()));
            element(out, n, model.getNodeTable());
            out.append('}');
        }
        out.append("],\"edges\":[");
        first = true;
        for (Edge e : graph.getEdges()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            out.append("{\"source\":");
            str(out, String.valueOf(e.getSource().getId())).append(",\"target\":");
            str(out, String.valueOf(e.getTarget().getId())).append(",\"label\":");
            str(out, e.getLabel()).append(",\"kind\":");
            Object kind = e.getTypeLabel();
            str(out, kind == null ? null : String.valueOf(kind));
            out.append(",\"directed\":").append(e.isDirected());
            out.append(",\"weight\":").append(num(e.getWeight()));
            out.append(",\"color\":");
            if (e.alpha() == 0f) {
                out.append("null");
            } else {
                color(out, e.r(), e.g(), e.b());
            }
            element(out, e, model.getEdgeTable());
            out.append('}');
        }
        out.append("]}");
    }

    private static void columns(StringBuilder out, Table table) {
        out.append('[');
        boolean first = true;
        for (Column c : table) {
            if (!first) {
                out.append(',');
            }
            first = false;
            out.append("{\"id\":");
            str(out, c.getId()).append(",\"title\":");
            str(out, c.getTitle()).append(",\"type\":");
            str(out, c.getTypeClass().getSimpleName());
            out.append(",\"property\":").append(c.isProperty()).append('}');
        }
        out.append(']');
    }

    private static void element(StringBuilder out, Element el, Table table) {
        out.append(",\"attributes\":{");
        boolean first = true;
        for (Column c : table) {
            if (c.isProperty()) {
                continue;
            }
            if (!first) {
                out.append(',');
            }
            first = false;
            str(out, c.getId()).append(':');
            value(out, el.getAttribute(c));
        }
        out.append("},\"intervals\":[");
        Interval[] intervals = null;
        try {
            intervals = el.getIntervals();
        } catch (RuntimeException notIntervals) {
            intervals = new Interval[0];
        }
        for (int i = 0; i < intervals.length; i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append('[').append(num(intervals[i].getLow())).append(',')
                .append(num(intervals[i].getHigh())).append(']');
        }
        out.append(']');
    }

    private static void value(StringBuilder out, Object v) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof Boolean) {
            out.append(v.toString());
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short
                || v instanceof Byte) {
            out.append(v.toString());
        } else if (v instanceof Number) {
            out.append(num(((Number) v).doubleValue()));
        } else {
            str(out, v.toString());
        }
    }

    private static void color(StringBuilder out, float r, float g, float b) {
        out.append('[').append(Math.round(r * 255)).append(',').append(Math.round(g * 255))
            .append(',').append(Math.round(b * 255)).append(']');
    }

    private static String num(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return "null";
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            return String.format(Locale.ROOT, "%.1f", d);
        }
        return Double.toString(d);
    }

    private static StringBuilder str(StringBuilder out, String s) {
        if (s == null) {
            return out.append("null");
        }
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('"');
    }
}
