using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace aspnetapp.Pages;

public class PrivacyModel : PageModel
{
    public void OnGet()
    {
    }
}

