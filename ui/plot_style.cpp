// Shared colours (see plot_style.h). Chosen to stay distinguishable for the common forms of
// colour blindness (blue / orange / teal, grey for raw).
#include "ui/plot_style.h"

namespace birkhoff::ui::plot_style {

QColor pathColor(LayerPath path)
{
    switch (path) {
    case LayerPath::Hyper: return QColor(31, 119, 180);
    case LayerPath::Raw: return QColor(214, 39, 40);
    case LayerPath::Buffer: return QColor(127, 127, 127);
    case LayerPath::Small: return QColor(188, 189, 34);
    }
    return QColor(127, 127, 127);
}

QColor originalColor()
{
    return QColor(255, 127, 14);
}

QColor compressedColor()
{
    return QColor(31, 119, 220);
}

QColor bothColor()
{
    return QColor(44, 190, 90);
}

QColor thresholdColor()
{
    return QColor(200, 40, 40);
}

}  // namespace birkhoff::ui::plot_style
