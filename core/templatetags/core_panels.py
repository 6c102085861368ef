from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def render_panel(context, panel):
    """A home panel (core.panels.ShownPanel), rendered as `{% include %}` would render its
    template: inside the page's context, with the panel's own context on top."""
    panel_template = context.template.engine.get_template(panel.template)
    with context.push(panel.context):
        return panel_template.render(context)
