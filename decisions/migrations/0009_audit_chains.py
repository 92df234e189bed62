# Placeholder reserved so that parallel work lands as one linear history; the work that
# owns this number fills in its operations.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("decisions", "0008_rendered_pdfs")]

    operations = []
