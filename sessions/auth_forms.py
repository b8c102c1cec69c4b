"""Forms of the login pages. The regcode field never renders a submitted value back."""

from django import forms
from django.utils.translation import gettext_lazy as _

from sessions import directory, guests
from sessions.emails import EmailAddressField


class LoginForm(forms.Form):
    email = EmailAddressField(label=_("Email address"), max_length=254)
    regcode = forms.CharField(
        label=_("Registration code"),
        max_length=directory.REGCODE_MAX,
        help_text=_("The code in the confirmation email you received when you registered."),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "current-password"}),
    )


class ResendCodeForm(forms.Form):
    email = EmailAddressField(label=_("Email address"), max_length=254)


class GuestForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"),
        max_length=200,  # generous on input; clean_name enforces the real limit after tidying
        strip=False,
        help_text=_("Shown to others with a “(guest)” marker."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["maxlength"] = guests.NAME_MAX  # what people can type

    def clean_name(self) -> str:
        name = guests.clean_name(self.cleaned_data["name"])
        try:
            taken = directory.name_is_registered(name)
        except directory.DirectoryUnavailable:
            raise forms.ValidationError(
                _("We cannot check names right now, please try again in a few minutes.")
            ) from None
        if taken:
            raise forms.ValidationError(
                _("That is the name of a registered attendee. Please choose another name, or log in with your code.")
            )
        return name
